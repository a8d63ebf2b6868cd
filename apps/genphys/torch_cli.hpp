#pragma once
// Shared by the LibTorch commands (cmd_torch_*.cpp).

#include <iostream>
#include <string>

namespace genphys::cli {

/// The engine's start-up and summary lines (its MessageSink), on stderr.
inline void print_to_stderr(const std::string& line) { std::cerr << line << "\n"; }

/// libgomp reads OMP_WAIT_POLICY once, when it loads, and by default idle workers spin. On shared
/// or oversubscribed cores the spinning starves the thread doing the work (training ran 2.6x
/// slower on 2 shared cores). Unless OMP_WAIT_POLICY is set, re-executes this process once with
/// OMP_WAIT_POLICY=PASSIVE; returns only when no re-execution happened.
void prefer_passive_openmp();

/// --bf16 only where it pays: InputError when the CPU has no bfloat16 instructions (oneDNN would
/// emulate them, slower than float32).
void require_bfloat16_cpu();

}  // namespace genphys::cli
