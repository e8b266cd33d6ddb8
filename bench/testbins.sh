# testbins.sh is sourced by ab.sh and ir.sh: with pkg and base set, it
# builds the test binaries of pkg at base ($work/old.test) and in the
# working tree ($work/new.test), sets root, work and dir (the package's
# directory, where benchmarks run), and cleans up on exit.
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git -C "$root" worktree add --quiet --detach "$work/base" "$base"
(cd "$work/base" && go test -c -o "$work/old.test" "$pkg")
(cd "$root" && go test -c -o "$work/new.test" "$pkg")
dir="$root/${pkg#./}"
