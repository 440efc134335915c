# pam-mfa %preun ($1: 0 on erase, 1 on upgrade). Erasing must not leave a
# PAM stack that loads a pam_mfa.so which no longer exists: every login
# through it would be refused. A failing %preun keeps the package installed.
if [ "$1" -eq 0 ]; then
    refs=$(grep -Hn '^[^#]*pam_mfa\.so' /etc/pam.d/* 2>/dev/null || :)
    if [ -n "$refs" ] && [ "${PAM_MFA_FORCE_REMOVE:-}" != yes ]; then
        echo "pam-mfa: refusing to remove pam_mfa.so: these PAM lines still load it," >&2
        echo "and every login through them would then be refused:" >&2
        echo "$refs" | sed 's/^/    /' >&2
        echo "Remove those lines first (see pam_mfa(8)), or set PAM_MFA_FORCE_REMOVE=yes." >&2
        exit 1
    fi
    # %systemd_preun (expanded): disable and stop.
    if [ -x /usr/bin/systemctl ]; then
        systemctl --no-reload disable --now mfa-agent.service >/dev/null 2>&1 || :
    fi
fi
exit 0
