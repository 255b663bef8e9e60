# A private Slurm cluster for a benchmark, on 127.0.0.1: munged, slurmctld and four slurmd (2 CPUs each),
# batch_sched_delay=0, as in shared/reference/infra.md §3. Source it after lib.sh, as root; `start_slurm` exports
# SLURM_CONF, `stop_slurm` ends the daemons and removes the directory (call it from the EXIT trap).

SLURM_DIR=$(mktemp -d /tmp/trainyard-bench-slurm.XXXXXX)
chmod 755 "$SLURM_DIR"
SLURM_PIDS=()
stop_slurm() {
    ((${#SLURM_PIDS[@]})) || return 0
    kill -TERM "${SLURM_PIDS[@]}" 2>/dev/null || true
    sleep 3
    kill -KILL "${SLURM_PIDS[@]}" 2>/dev/null || true
    rm -rf "$SLURM_DIR"
}
start_slurm() {
    local d=$SLURM_DIR h n
    h=$(hostname -s)
    mkdir -p "$d"/{state,spool,run,log,munge} && chown munge:munge "$d/munge"
    mungekey --create --keyfile="$d/munge/key" --force && chown munge:munge "$d/munge/key"
    setpriv --reuid=munge --regid=munge --init-groups -- /usr/sbin/munged -F --socket="$d/munge/sock" --key-file="$d/munge/key" \
        --pid-file="$d/munge/pid" --seed-file="$d/munge/seed" >"$d/log/munged.out" 2>&1 &
    SLURM_PIDS+=($!)
    until [[ -S $d/munge/sock ]]; do sleep 0.05; done
    local p0 p
    p0=$(free_port)
    {
        printf '%s\n' "ClusterName=bench" "SlurmctldHost=$h(127.0.0.1)" "SlurmctldPort=$p0" SlurmUser=root SlurmdUser=root AuthType=auth/munge \
            CredType=cred/munge "AuthInfo=socket=$d/munge/sock" MailProg=/bin/true "StateSaveLocation=$d/state" "SlurmdSpoolDir=$d/spool/%n" \
            "SlurmctldPidFile=$d/run/slurmctld.pid" "SlurmdPidFile=$d/run/slurmd.%n.pid" "SlurmctldLogFile=$d/log/slurmctld.log" \
            "SlurmdLogFile=$d/log/slurmd.%n.log" ProctrackType=proctrack/linuxproc TaskPlugin=task/none JobAcctGatherType=jobacct_gather/none \
            SelectType=select/cons_tres SelectTypeParameters=CR_Core SchedulerType=sched/backfill SchedulerParameters=batch_sched_delay=0 \
            MpiDefault=none ReturnToService=2 AccountingStorageType=accounting_storage/none JobCompType=jobcomp/none SlurmdTimeout=30 KillWait=3 \
            MinJobAge=300
        for n in 1 2 3 4; do
            p=$(free_port)
            echo "NodeName=node$n NodeHostname=$h NodeAddr=127.0.0.1 Port=$p CPUs=2 RealMemory=1000 State=UNKNOWN"
        done
        echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
    } >"$d/slurm.conf"
    export SLURM_CONF=$d/slurm.conf
    /usr/sbin/slurmctld -D -f "$SLURM_CONF" >"$d/log/slurmctld.out" 2>&1 &
    SLURM_PIDS+=($!)
    for n in 1 2 3 4; do
        /usr/sbin/slurmd -D -N "node$n" -f "$SLURM_CONF" >"$d/log/slurmd.$n.out" 2>&1 &
        SLURM_PIDS+=($!)
    done
    local deadline=$((SECONDS + 60))
    until [[ $(sinfo -h -N -o '%t' 2>/dev/null | grep -c '^idle$') == 4 ]]; do
        ((SECONDS < deadline)) || die "the Slurm nodes are not idle after 60 s (see $d/log)"
        sleep 0.1
    done
    log "slurm up: 4 nodes, SLURM_CONF=$SLURM_CONF"
}

