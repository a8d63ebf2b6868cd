#!/usr/bin/env bash
# Outputs never destroy what they replace: a FIFO or device is written in place, a symlink's
# target is replaced (the link stays), a file keeps its mode, "-" is standard output, and a failed
# write to standard output (a full disk) exits non-zero.
set -u
source "$(dirname "$0")/lib.sh" "$1"
disp=(dispersion --pde diffusion --kmax 1 --points 5)

# A FIFO stays a FIFO and receives the CSV.
mkfifo "$tmp/fifo"
cat "$tmp/fifo" >"$tmp/from_fifo" &
reader=$!
"$genphys" "${disp[@]}" --csv "$tmp/fifo" >/dev/null && ok || bad "write to a FIFO"
wait "$reader"
[[ -p "$tmp/fifo" ]] && ok || bad "the FIFO was replaced"
[[ $(head -1 "$tmp/from_fifo") == "pde,branch,k,re_omega,im_omega" ]] && ok || bad "the FIFO did not get the CSV"

# A symlink: the target is replaced, the link stays a link.
echo old >"$tmp/real.csv"
ln -s real.csv "$tmp/link.csv"
"$genphys" "${disp[@]}" --csv "$tmp/link.csv" >/dev/null && ok || bad "write through a symlink"
[[ -L "$tmp/link.csv" ]] && ok || bad "the symlink was replaced by a file"
[[ $(head -1 "$tmp/real.csv") == "pde,branch,k,re_omega,im_omega" ]] && ok || bad "the link's target was not written"

# A file's mode is kept; a new file gets the umask's default; no temp files stay behind.
echo old >"$tmp/private.csv"
chmod 600 "$tmp/private.csv"
"$genphys" "${disp[@]}" --csv "$tmp/private.csv" >/dev/null && ok || bad "rewrite a mode-600 file"
[[ $(stat -c %a "$tmp/private.csv") == 600 ]] && ok || bad "mode 600 became $(stat -c %a "$tmp/private.csv")"
(umask 022 && "$genphys" "${disp[@]}" --csv "$tmp/new.csv" >/dev/null) && ok || bad "new file"
[[ $(stat -c %a "$tmp/new.csv") == 644 ]] && ok || bad "new file mode $(stat -c %a "$tmp/new.csv"), want 644"
[[ -z $(find "$tmp" -name '*.tmp.*') ]] && ok || bad "temp files left: $(find "$tmp" -name '*.tmp.*')"

# Plots (PNG) follow the same rules: a symlink's target keeps its mode, a FIFO gets the bytes.
png_sig() { head -c 8 "$1" | od -An -tx1 | tr -d ' \n'; }
echo old >"$tmp/real.png"
chmod 600 "$tmp/real.png"
ln -s real.png "$tmp/link.png"
"$genphys" "${disp[@]}" --csv "$tmp/p.csv" --plot "$tmp/link.png" >/dev/null && ok || bad "plot through a symlink"
[[ -L "$tmp/link.png" && $(png_sig "$tmp/real.png") == 89504e470d0a1a0a ]] && ok || bad "the plot's link target is not a PNG"
[[ $(stat -c %a "$tmp/real.png") == 600 ]] && ok || bad "plot: mode 600 became $(stat -c %a "$tmp/real.png")"
mkfifo "$tmp/plot_fifo"
cat "$tmp/plot_fifo" >"$tmp/plot_from_fifo" &
reader=$!
"$genphys" "${disp[@]}" --csv "$tmp/p.csv" --plot "$tmp/plot_fifo" >/dev/null && ok || bad "plot to a FIFO"
wait "$reader"
[[ -p "$tmp/plot_fifo" && $(png_sig "$tmp/plot_from_fifo") == 89504e470d0a1a0a ]] && ok || bad "the FIFO did not get the PNG"

# "-" is standard output.
[[ $("$genphys" "${disp[@]}" --csv - | head -1) == "pde,branch,k,re_omega,im_omega" ]] && ok || bad "--csv -"

# A full disk on standard output is an error, not exit 0.
if [[ -w /dev/full ]]; then
  "$genphys" check --all --dim 2 >/dev/full 2>"$tmp/err"
  rc=$?
  [[ $rc -ne 0 ]] && grep -q "standard output" "$tmp/err" && ok || bad "stdout to /dev/full: exit $rc, $(cat "$tmp/err")"
  "$genphys" "${disp[@]}" --csv /dev/full >/dev/null 2>"$tmp/err"
  rc=$?
  [[ $rc -eq 2 && $(wc -l <"$tmp/err") -eq 1 ]] && ok || bad "--csv /dev/full: exit $rc, $(cat "$tmp/err")"
  [[ -c /dev/full ]] && ok || bad "/dev/full is no longer a device"
fi
expect_error 2 "is a directory" -- "${disp[@]}" --csv "$tmp"
finish
