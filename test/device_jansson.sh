# test/device_jansson.sh -- sourced by test/gpu_check.sh and test/gpu_preset.sh.
# The device's image may lack Jansson (01_data's JSON reader for GenWiki).
# Where it does and device-debs/ holds Debian's libjansson-dev and libjansson4
# (fetched here with `apt-get download` and carried: docs/gpu.md, "Measured on
# an NVIDIA H200"), unpack them into a folder of their own, not into /, and
# point the compiler, the linker and the loader at it. Sets jansson_note to
# what was done (empty where the machine has Jansson).
jansson_note=
if ! echo '#include <jansson.h>' | gcc -E -x c - >/dev/null 2>&1; then
    if ls device-debs/*.deb >/dev/null 2>&1; then
        jansson_root=/tmp/device-debs-root
        for f in device-debs/*.deb; do dpkg -x "$f" "$jansson_root"; done
        jansson_lib=$jansson_root/usr/lib/$(gcc -dumpmachine)
        export CPATH=$jansson_root/usr/include${CPATH:+:$CPATH}
        export LIBRARY_PATH=$jansson_lib${LIBRARY_PATH:+:$LIBRARY_PATH}
        export LD_LIBRARY_PATH=$jansson_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
        jansson_note="- jansson.h: not on this machine; unpacked $(ls device-debs/*.deb | xargs -n 1 basename | tr '\n' ' ')into $jansson_root"
    else
        jansson_note="- jansson.h: not on this machine and no device-debs/*.deb: 01_data will not build, nor the steps that need it"
    fi
fi
