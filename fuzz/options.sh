# Sourced by fuzz/fuzz.sh and .clusterfuzzlite/simulate.sh.
# options_flags FILE: the libFuzzer flags of a target's .options file (its [libfuzzer]
# `key = value` lines as -key=value), one a line; `dict` names a file in $OUT.
options_flags() {
    sed -n '/^\[libfuzzer\]/,/^\[/{/^[a-z_]* *=/{s/ *= */=/;s/^/-/;p}}' "$1" | sed "s|^-dict=|-dict=$OUT/|"
}
