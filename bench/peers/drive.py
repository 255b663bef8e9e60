#!/usr/bin/env python3
"""bench/peers' Ray side, through Ray's own Python SDK (Trainyard and slurmrestd are driven by wrk).

    drive.py ray ADDRESS N C             submits N jobs from C threads, each with its own JobSubmissionClient
                                         (JobSubmissionClient.submit_job; the jobs run: Ray has no queue to hold them
                                         in); prints one JSON line: jobs, seconds, jobs/s and the p50/p99 of one
                                         submission in ms. The first failure ends the run.
    drive.py ray-running ADDRESS FILE    one job through the SDK whose entrypoint writes the wall clock to FILE; prints
                                         the milliseconds from just before submit_job to that timestamp, once the job ended
"""
import json
import sys
import threading
import time


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(p / 100 * len(ordered) + 0.999999)))
    return ordered[rank - 1]


def run(n, connections, make_submitter):
    """Splits n submissions over `connections` threads, each with its own submitter; answers the figures."""
    latencies = []
    errors = []
    lock = threading.Lock()
    counter = iter(range(n))

    def worker():
        submit = make_submitter()
        mine = []
        while True:
            with lock:
                index = next(counter, None)
            if index is None or errors:
                break
            started = time.perf_counter()
            try:
                submit(index)
            except Exception as error:  # noqa: BLE001 - any failure ends the run, with its text
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
                break
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        print(json.dumps({"error": errors[0], "done": len(latencies)}))
        sys.exit(1)
    print(json.dumps({
        "jobs": len(latencies), "seconds": round(seconds, 3), "jobs_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2),
    }))


def ray(address, n, connections):
    from ray.job_submission import JobSubmissionClient

    def make():
        client = JobSubmissionClient(address)

        def submit(_):
            client.submit_job(entrypoint="true")
        return submit
    run(n, connections, make)


def ray_running(address, path):
    from ray.job_submission import JobStatus, JobSubmissionClient
    client = JobSubmissionClient(address)
    started = time.time()
    job = client.submit_job(entrypoint=f"sh -c 'date +%s.%N > {path}.tmp && mv {path}.tmp {path}'")
    deadline = time.monotonic() + 120
    while True:
        try:
            with open(path) as f:
                stamp = float(f.read())
            break
        except (FileNotFoundError, ValueError):
            if time.monotonic() > deadline:
                sys.exit(f"ray job {job} never ran")
            time.sleep(0.005)
    while client.get_job_status(job) not in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED):
        time.sleep(0.05)
    print(round((stamp - started) * 1000))


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    if kind == "ray-running":
        ray_running(args[0], args[1])
    elif kind == "ray":
        ray(args[0], int(args[1]), int(args[2]))
    else:
        sys.exit(__doc__)
