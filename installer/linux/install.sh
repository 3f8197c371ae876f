#!/bin/sh
# Install Reviewer Workstation for the current user from the unpacked tarball:
#   ./install.sh            (installs into ~/.local)
#   ./install.sh --remove   (uninstalls)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
app="$prefix/opt/reviewer-workstation"
if [ "${1:-}" = "--remove" ]; then
    rm -rf "$app"
    rm -f "$prefix/bin/reviewer-workstation" \
        "$prefix/share/applications/reviewer-workstation.desktop" \
        "$prefix/share/icons/hicolor/256x256/apps/reviewer-workstation.png" \
        "$prefix/share/icons/hicolor/scalable/apps/reviewer-workstation.svg"
    echo "Reviewer Workstation removed (your data in ~/.local/share/ReviewerWorkstation is kept)."
    exit 0
fi
mkdir -p "$prefix/opt" "$prefix/bin" "$prefix/share/applications" \
    "$prefix/share/icons/hicolor/256x256/apps" "$prefix/share/icons/hicolor/scalable/apps"
rm -rf "$app"
cp -a "$here/reviewer-workstation" "$app"
ln -sf "$app/reviewer-workstation" "$prefix/bin/reviewer-workstation"
sed "s|^Exec=.*|Exec=$app/reviewer-workstation|" "$here/reviewer-workstation.desktop" \
    > "$prefix/share/applications/reviewer-workstation.desktop"
cp "$here/reviewer-workstation.png" "$prefix/share/icons/hicolor/256x256/apps/"
cp "$here/reviewer-workstation.svg" "$prefix/share/icons/hicolor/scalable/apps/"
command -v update-desktop-database >/dev/null 2>&1 \
    && update-desktop-database "$prefix/share/applications" || true
echo "Reviewer Workstation installed: $prefix/bin/reviewer-workstation (and the app menu)."
