#!/bin/sh
# install.sh - make install / make uninstall (the Makefile passes its values):
#
#   tools/install.sh install|uninstall DESTDIR PREFIX BUILD_DIR VERSION LIBS
#
# Installs under DESTDIR/PREFIX: bin/gen, bin/flatnet-plot (tools/plot.sh),
# lib/libflatnet.a (and lib/libflatnet_mpi.a when the build has it), the
# header generated code includes (include/flatnet/flatnet.h), the networks
# (share/flatnet/networks/*.lua) and lib/pkgconfig/flatnet.pc.  Every
# directory is made first, so a PREFIX that cannot be written fails before a
# file is copied; a copy that fails takes back the files this run installed
# and names them.  uninstall removes the same files, then the directories
# that are left empty.
set -eu

[ $# -eq 6 ] || { echo "usage: install.sh install|uninstall DESTDIR PREFIX B VERSION LIBS" >&2; exit 2; }
action=$1 destdir=$2 prefix=$3 build=$4 version=$5 libs=$6
case "$prefix" in
/*) ;;
*) echo "install: PREFIX must be an absolute path, got '$prefix'" >&2; exit 2 ;;
esac
root=$destdir$prefix

# source, destination under root, mode: one line each
files() {
    echo "$build/gen bin/gen 755"
    echo "tools/plot.sh bin/flatnet-plot 755"
    echo "$build/libflatnet.a lib/libflatnet.a 644"
    if [ -f "$build/libflatnet_mpi.a" ]; then
        echo "$build/libflatnet_mpi.a lib/libflatnet_mpi.a 644"
    fi
    echo "runtime/flatnet.h include/flatnet/flatnet.h 644"
    for f in networks/*.lua; do
        echo "$f share/flatnet/$f 644"
    done
    echo "$build/flatnet.pc lib/pkgconfig/flatnet.pc 644"
}
dirs="bin lib lib/pkgconfig include/flatnet share/flatnet/networks"

if [ "$action" = uninstall ]; then
    n=0
    # the MPI runtime too, though this build may not have it
    for dest in $(files | cut -d' ' -f2) lib/libflatnet_mpi.a; do
        if [ -e "$root/$dest" ]; then
            rm -f "$root/$dest" && n=$((n + 1))
        fi
    done
    for d in share/flatnet/networks share/flatnet include/flatnet lib/pkgconfig; do
        rmdir "$root/$d" 2>/dev/null || true
    done
    echo "uninstall: removed $n files from $root"
    exit 0
fi
[ "$action" = install ] || { echo "install.sh: install or uninstall, got '$action'" >&2; exit 2; }

# the pkg-config file: what a generated program compiles and links with
cat >"$build/flatnet.pc.tmp" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: flatnet
Description: runtime of the networks flatnet's gen writes
Version: $version
Cflags: -I\${includedir}/flatnet -fopenmp
Libs: -L\${libdir} -lflatnet $libs -fopenmp
PC
mv "$build/flatnet.pc.tmp" "$build/flatnet.pc"

for d in $dirs; do
    if ! mkdir -p "$root/$d" 2>"$build/install.err"; then
        echo "install: cannot make $root/$d: $(sed 's/^mkdir: //' "$build/install.err")" >&2
        echo "install: nothing was installed (choose another PREFIX, or DESTDIR)" >&2
        exit 1
    fi
done

files >"$build/install.list"
done_list=""
while read -r src dest mode; do
    if ! install -T -m "$mode" "$src" "$root/$dest" 2>"$build/install.err"; then
        echo "install: cannot install $root/$dest: $(cat "$build/install.err")" >&2
        for f in $done_list; do rm -f "$root/$f"; done
        echo "install: took back what this run had installed:${done_list:- nothing}" >&2
        exit 1
    fi
    done_list="$done_list $dest"
done <"$build/install.list"
rm -f "$build/install.list" "$build/install.err"
echo "install: $(files | wc -l) files under $root (gen, flatnet-plot, libflatnet, flatnet.h," \
    "the networks, flatnet.pc)"
