# pam-mfa %postun ($1: 0 on erase, 1 on upgrade).
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -eq 0 ]; then
    rm -rf /var/lib/pam-mfa /var/log/pam-mfa /run/pam-mfa
    rmdir /etc/pam-mfa/policy.d /etc/pam-mfa 2>/dev/null || :
fi
exit 0
