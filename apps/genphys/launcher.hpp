#pragma once
// train --nproc K: K ranks of this very command on this machine, as torchrun would start them.

namespace genphys::cli {

/// Starts `nproc` copies of this process's command line (less --nproc) with MASTER_ADDR=127.0.0.1,
/// a free MASTER_PORT (or the one set), RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE; forwards
/// SIGINT, SIGTERM and SIGHUP to them and waits. Returns 0 when every rank succeeded, else the first
/// failure's exit code (128 + signal for a killed rank); the others are given
/// kPeerGraceSeconds to notice and then killed. InputError when already under torchrun.
int run_local_ranks(int nproc);

/// How long the ranks that are left get to exit after one failed, before they are killed.
constexpr int kPeerGraceSeconds = 30;

/// True in a rank > 0 that run_local_ranks started: rank 0 reports the input errors they share.
bool quiet_local_rank();

}  // namespace genphys::cli
