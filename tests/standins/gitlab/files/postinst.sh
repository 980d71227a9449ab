#!/bin/sh
# STAND-IN gitlab package postinst (Dockyard tests only). Like omnibus: the /usr/bin symlinks, the
# upgrade-path guard (omnibus does it in preinst: an installed minor older than this release's
# MIN_VERSION is refused), then reconfigure unless /etc/gitlab/skip-auto-reconfigure exists.
set -e
for b in gitlab-ctl gitlab-backup gitlab-rails; do
  ln -sf "/opt/gitlab/bin/$b" "/usr/bin/$b"
done
if [ "$1" = configure ]; then
  python3 /opt/gitlab/embedded/dockyard-standin/upgrade_guard.py "$2"
  if [ ! -e /etc/gitlab/skip-auto-reconfigure ] && [ -f /etc/gitlab/gitlab.rb ]; then
    /opt/gitlab/bin/gitlab-ctl reconfigure
  fi
fi
exit 0
