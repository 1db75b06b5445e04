#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A throwaway single-node Ceph cluster serving S3 through the RADOS Gateway, for the `rgw` tests.
#
#   rgw-cluster.sh start DIR [ACCESS_KEY SECRET_KEY]   bring it up inside DIR, write DIR/env
#   rgw-cluster.sh stop DIR                            kill the daemons it started, remove DIR
#
# One mon, one bluestore OSD on a sparse file, two radosgw (beast) on 127.0.0.1 only; cephx off
# between the daemons, pools of size 1. Two gateways over the same data because RGW 16 answers every
# refused S3 request with "AccessDenied" once its STS engine is on (rgw_s3_auth_use_sts), hiding
# SignatureDoesNotMatch and InvalidAccessKeyId: RGW_ENDPOINT is plain S3 with exact error codes,
# RGW_STS_ENDPOINT has STS (AssumeRole) and accepts the session credentials it hands out.
# It installs nothing: when the Ceph packages are missing or we are not root it prints
# "skipped: <reason>" and exits 77 (CTest's SKIP_RETURN_CODE).
set -euo pipefail

readonly skip_code=77
readonly marker=.rgw-cluster  # present in every DIR this script made; stop removes only those
readonly default_access_key=PRESIGNRGWTESTKEY01
readonly default_secret_key=presign-rgw-test-secret-0123456789abcdef
# RGW's STS signs session tokens with this key (exactly 16 bytes); throwaway cluster, no secret.
readonly sts_key=presignrgwsts016
readonly role_name=presign-tests

usage() {
    echo "usage: $0 start DIR [ACCESS_KEY SECRET_KEY] | stop DIR" >&2
    exit 2
}

skip() {
    echo "skipped: $*"
    exit "$skip_code"
}

log() { echo "rgw-cluster: $*" >&2; }

now_ms() { date +%s%3N; }

check_prerequisites() {
    [[ $(id -u) == 0 ]] || skip "the Ceph cluster needs root (run as root to test against Ceph RGW)"
    local missing=() package
    for package in ceph-mon ceph-osd radosgw ceph-common; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    if ((${#missing[@]})); then
        skip "Ceph packages not installed: ${missing[*]}" \
            "(apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common)"
    fi
    local tool
    for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool; do
        command -v "$tool" >/dev/null || skip "$tool not found on PATH"
    done
}

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port nothing listens on, not among the ones already chosen ($@). A port taken between this
# check and the daemon's bind fails the bring-up, which start then retries once on new ports.
pick_port() {
    local attempt port
    for ((attempt = 0; attempt < 100; attempt++)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        [[ " $* " == *" $port "* ]] && continue
        port_answers "$port" || { echo "$port"; return 0; }
    done
    log "no free port found"
    return 1
}

# Launches a daemon in the foreground of its own session (so CTest neither waits for it nor kills
# it with the fixture's process group), records its pid, and echoes nothing.
launch() {
    local name=$1
    shift
    setsid "$@" </dev/null >>"$dir/log/$name.out" 2>&1 &
    local pid=$!
    echo "$pid $name" >>"$dir/pids"
    log "started $name (pid $pid)"
}

pid_of() { awk -v name="$1" '$2 == name { print $1 }' "$dir/pids"; }

# Running, and not a zombie waiting for a parent that may never reap it.
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# wait_for SECONDS DESCRIPTION DAEMON COMMAND...: polls COMMAND every 0.2 s; fails early when the
# daemon it waits on has died.
wait_for() {
    local seconds=$1 what=$2 daemon=$3
    shift 3
    local deadline=$(($(date +%s) + seconds)) pid
    pid=$(pid_of "$daemon")
    until "$@" >/dev/null 2>&1; do
        if [[ -n $pid ]] && ! alive "$pid"; then
            fail "$daemon exited while waiting for $what"
        fi
        (($(date +%s) < deadline)) || fail "timed out after ${seconds}s waiting for $what"
        sleep 0.2
    done
}

fail() {
    log "FAILED: $*"
    local file
    for file in "$dir"/log/*.log "$dir"/log/*.out; do
        [[ -s $file ]] || continue
        echo "---- last lines of $file" >&2
        tail -n 15 "$file" >&2
    done
    stop_daemons
    exit 1
}

ceph_cli() { timeout 30 ceph -c "$dir/ceph.conf" --connect-timeout 10 "$@"; }

osd_is_up() { ceph_cli osd dump | grep -q '^osd\.0 up'; }

# True when radosgw answers HTTP on port $1 (any status line will do: it is S3 talking).
http_answers() {
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    local status_line
    IFS= read -r -t 5 status_line <&3 || { exec 3<&-; return 1; }
    exec 3<&-
    [[ $status_line == HTTP/1.?\ [0-9][0-9][0-9]* ]]
}

write_config() {
    cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$mon_port_v2,v1:127.0.0.1:$mon_port_v1]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
# Daemons ask the mon for "secure" mode only by default, which auth "none" cannot provide.
ms_mon_client_mode = crc secure
keyring = $dir/keyring
run_dir = $dir/run
crash_dir = $dir/crash
# No admin sockets: unix socket paths are limited to 107 bytes and nothing here needs them.
admin_socket =
pid_file = $dir/run/\$name.pid
log_file = $dir/log/\$name.log
log_to_stderr = false
err_to_stderr = true
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 2
mon_data_avail_crit = 1

[mon]
mon_data = $dir/mon/\$cluster-\$id

[osd]
osd_data = $dir/osd/\$cluster-\$id
osd_objectstore = bluestore
bluestore_block_path = $dir/osd/block.\$id
bluestore_block_create = true
bluestore_block_size = 10737418240
bluestore_fsck_on_mount = false
bluestore_cache_autotune = false
bluestore_cache_size = 67108864
osd_memory_target = 939524096

[client.rgw.a]
rgw_data = $dir/rgw/a
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port
rgw_thread_pool_size = 16
rgw_enable_usage_log = false

[client.rgw.sts]
rgw_data = $dir/rgw/sts
rgw_frontends = beast endpoint=127.0.0.1:$sts_port
rgw_thread_pool_size = 16
rgw_enable_usage_log = false
rgw_s3_auth_use_sts = true
rgw_sts_key = $sts_key
EOF
}

start() {
    check_prerequisites
    if [[ -e $dir/$marker ]]; then
        log "removing the leftovers of an earlier run in $dir"
        stop
    fi
    if [[ -e $dir ]] && [[ -n $(ls -A "$dir" 2>/dev/null) ]]; then
        log "$dir exists and is not empty"
        exit 2
    fi
    local started_ms attempt
    started_ms=$(now_ms)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # A port picked free can be taken by another program before a daemon binds it: one more try
    # with new ports before giving up.
    for attempt in 1 2; do
        mkdir -p "$dir"/{mon,osd,rgw/a,rgw/sts,run,log,crash}
        touch "$dir/$marker" "$dir/pids"
        if (bring_up "$started_ms" "$@"); then
            return 0
        fi
        ((attempt == 2)) && break
        log "attempt $attempt failed; trying again on other ports"
        stop_daemons
        find "$dir" -mindepth 1 -delete
    done
    exit 1
}

# Brings the cluster up in DIR (run in a subshell: fail() exits it).
bring_up() {
    local started_ms=$1
    shift
    local access_key=${1:-$default_access_key} secret_key=${2:-$default_secret_key}
    fsid=$(cat /proc/sys/kernel/random/uuid)
    mon_port_v2=$(pick_port)
    mon_port_v1=$(pick_port "$mon_port_v2")
    rgw_port=$(pick_port "$mon_port_v2" "$mon_port_v1")
    sts_port=$(pick_port "$mon_port_v2" "$mon_port_v1" "$rgw_port")
    write_config

    # Monitor.
    ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port_v2,v1:127.0.0.1:$mon_port_v1]" \
        "$dir/monmap" >/dev/null
    ceph-mon -c "$dir/ceph.conf" -i a --mkfs --monmap "$dir/monmap" --keyring "$dir/keyring" \
        >>"$dir/log/mkfs.out" 2>&1 || fail "ceph-mon --mkfs"
    launch mon ceph-mon -f -c "$dir/ceph.conf" -i a
    wait_for 30 "the monitor" mon ceph_cli mon stat

    # One OSD, bluestore on a sparse file.
    local osd_uuid osd_id
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    osd_id=$(ceph_cli osd new "$osd_uuid") || fail "ceph osd new"
    [[ $osd_id == 0 ]] || fail "expected osd id 0, got '$osd_id'"
    mkdir -p "$dir/osd/ceph-0"
    ceph-osd -c "$dir/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$dir/log/mkfs.out" 2>&1 ||
        fail "ceph-osd --mkfs"
    launch osd ceph-osd -f -c "$dir/ceph.conf" -i 0
    wait_for 60 "osd.0 to be up" osd osd_is_up

    # The S3 user (this also creates the default realm, zone and the RGW pools), then the gateway.
    timeout 90 radosgw-admin -c "$dir/ceph.conf" user create --uid=presign --display-name="presign tests" \
        --access-key="$access_key" --secret="$secret_key" >>"$dir/log/radosgw-admin.out" 2>&1 ||
        fail "radosgw-admin user create"
    # A role the user may assume through RGW's STS (AssumeRole), for session-token credentials.
    # (GetSessionToken would need an IAM user policy, which radosgw-admin 16 cannot attach.)
    timeout 30 radosgw-admin -c "$dir/ceph.conf" role create --role-name="$role_name" --path=/ \
        --assume-role-policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/presign"]},"Action":["sts:AssumeRole"]}]}' \
        >>"$dir/log/radosgw-admin.out" 2>&1 || fail "radosgw-admin role create"
    timeout 30 radosgw-admin -c "$dir/ceph.conf" role-policy put --role-name="$role_name" --policy-name=s3-all \
        --policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"arn:aws:s3:::*"}]}' \
        >>"$dir/log/radosgw-admin.out" 2>&1 || fail "radosgw-admin role-policy put"
    launch rgw radosgw -f -c "$dir/ceph.conf" -n client.rgw.a
    launch rgw-sts radosgw -f -c "$dir/ceph.conf" -n client.rgw.sts
    wait_for 60 "radosgw on 127.0.0.1:$rgw_port" rgw http_answers "$rgw_port"
    wait_for 60 "radosgw (STS) on 127.0.0.1:$sts_port" rgw-sts http_answers "$sts_port"

    local ready_ms
    ready_ms=$(($(now_ms) - started_ms))
    {
        echo "RGW_ENDPOINT=http://127.0.0.1:$rgw_port"
        echo "RGW_ACCESS_KEY=$access_key"
        echo "RGW_SECRET_KEY=$secret_key"
        echo "RGW_REGION=us-east-1"
        echo "RGW_STS_ENDPOINT=http://127.0.0.1:$sts_port"
        echo "RGW_STS_ROLE_ARN=arn:aws:iam:::role/$role_name"
        echo "RGW_MON_PID=$(pid_of mon)"
        echo "RGW_OSD_PID=$(pid_of osd)"
        echo "RGW_RGW_PID=$(pid_of rgw)"
        echo "RGW_STS_PID=$(pid_of rgw-sts)"
        echo "RGW_PIDS=\"$(awk '{ printf "%s%s", sep, $1; sep = " " }' "$dir/pids")\""
        echo "RGW_READY_MS=$ready_ms"
    } >"$dir/env"
    chmod 600 "$dir/env"
    log "ready at http://127.0.0.1:$rgw_port after ${ready_ms} ms (dir $dir)"
}

# Kills the daemons listed in DIR/pids, checking each pid still runs one of ours (its command line
# names DIR/ceph.conf) so a recycled pid is never hit. TERM first; what still runs after 2 s gets
# KILL: a Ceph daemon's orderly shutdown waits on its peers, which are stopping too, and the data
# is thrown away with DIR anyway.
stop_daemons() {
    [[ -f $dir/pids ]] || return 0
    local pids=() pid name
    while read -r pid name; do
        [[ $pid =~ ^[0-9]+$ ]] || continue
        if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/ceph.conf"; then
            pids+=("$pid")
        fi
    done <"$dir/pids"
    ((${#pids[@]})) || return 0
    kill -TERM "${pids[@]}" 2>/dev/null || true
    local attempt running=()
    for ((attempt = 0; attempt < 20; attempt++)); do
        running=()
        for pid in "${pids[@]}"; do alive "$pid" && running+=("$pid"); done
        ((${#running[@]})) || return 0
        sleep 0.1
    done
    kill -KILL "${running[@]}" 2>/dev/null || true
    for ((attempt = 0; attempt < 50; attempt++)); do
        running=()
        for pid in "${pids[@]}"; do alive "$pid" && running+=("$pid"); done
        ((${#running[@]})) || return 0
        sleep 0.1
    done
    log "pids ${running[*]} survived KILL"
    return 1
}

stop() {
    if [[ ! -d $dir ]]; then
        return 0
    fi
    dir=$(cd "$dir" && pwd)
    if [[ ! -e $dir/$marker ]]; then
        log "$dir was not made by this script; leaving it alone"
        exit 2
    fi
    stop_daemons
    rm -rf -- "$dir"
    log "stopped and removed $dir"
}

(($# >= 2)) || usage
command=$1
dir=$2
shift 2
case $command in
    start) start "$@" ;;
    stop) (($# == 0)) || usage; stop ;;
    *) usage ;;
esac
