/* A passwd source for the end-to-end tests: one account, found by getpwnam
 * whatever the case of the name asked for and by getpwuid, and listed by no
 * getpwent (there is no _nss_mfatci_getpwent_r), as sssd with
 * `case_sensitive = false` and no enumeration answers. ACCOUNT_NAME,
 * ACCOUNT_UID and ACCOUNT_HOME are given with -D when it is compiled. */
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

static enum nss_status account(struct passwd *pw, char *buf, size_t len, int *errnop)
{
    const char *fields[5] = {ACCOUNT_NAME, "x", "", ACCOUNT_HOME, "/bin/sh"};
    char *copies[5];
    size_t need = 0;
    for (int i = 0; i < 5; i++)
        need += strlen(fields[i]) + 1;
    if (len < need) {
        *errnop = ERANGE;
        return NSS_STATUS_TRYAGAIN;
    }
    for (int i = 0; i < 5; i++) {
        copies[i] = buf;
        strcpy(buf, fields[i]);
        buf += strlen(fields[i]) + 1;
    }
    pw->pw_name = copies[0];
    pw->pw_passwd = copies[1];
    pw->pw_gecos = copies[2];
    pw->pw_dir = copies[3];
    pw->pw_shell = copies[4];
    pw->pw_uid = ACCOUNT_UID;
    pw->pw_gid = ACCOUNT_UID;
    return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_mfatci_getpwnam_r(const char *name, struct passwd *pw, char *buf,
                                       size_t len, int *errnop)
{
    if (strcasecmp(name, ACCOUNT_NAME) != 0)
        return NSS_STATUS_NOTFOUND;
    return account(pw, buf, len, errnop);
}

enum nss_status _nss_mfatci_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
                                       int *errnop)
{
    if (uid != ACCOUNT_UID)
        return NSS_STATUS_NOTFOUND;
    return account(pw, buf, len, errnop);
}
