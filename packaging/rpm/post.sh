# pam-mfa %post ($1: 1 on install, 2 on upgrade). Never edits /etc/pam.d.
# /etc/pam-mfa/policy.d is NOT made here: the admin makes it with the bundle
# (README); missing or empty, it is "no policy", and pam_mfa.so fails closed.
# (systemd-tmpfiles fails in a chroot without /proc: then by hand.)
systemd-tmpfiles --create pam-mfa.conf >/dev/null 2>&1 \
    || install -d -m 0700 /var/lib/pam-mfa /var/log/pam-mfa
# %systemd_post (expanded): preset on first install, reload units.
if [ "$1" -eq 1 ] && [ -x /usr/bin/systemctl ]; then
    systemctl --no-reload preset mfa-agent.service >/dev/null 2>&1 || :
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    # Upgrade: run the new agent (%systemd_postun_with_restart does this on
    # EL9 too, but only for the old package's scriptlet).
    # Not into an agent.yaml the new agent would refuse (edited, not yet
    # reloaded): that restart would refuse every login; the running agent
    # stays, and the admin is told.
    # The same for the policy: the new agent's own check reads agent.yaml's
    # cluster.source as it will run (a file, a directory, a manifest, the
    # last-known-good cache).
    if [ "$1" -ge 2 ]; then
        if [ -e /etc/pam-mfa/agent.yaml ] \
            && ! /usr/bin/mfactl check /etc/pam-mfa/agent.yaml >/dev/null 2>&1; then
            echo "pam-mfa: /etc/pam-mfa/agent.yaml is refused (\`mfactl check /etc/pam-mfa/agent.yaml\` says where); mfa-agent is not restarted: fix it, then \`systemctl restart mfa-agent\`." >&2
        elif systemctl is-active --quiet mfa-agent.service 2>/dev/null \
            && ! /usr/sbin/mfa-agent --check --config /etc/pam-mfa/agent.yaml >/dev/null 2>&1; then
            echo "pam-mfa: the policy is refused (\`mfa-agent --check\` says why); mfa-agent is not restarted: fix it, then \`systemctl restart mfa-agent\`." >&2
        else
            systemctl try-restart mfa-agent.service >/dev/null 2>&1 || :
        fi
    fi
fi
exit 0
