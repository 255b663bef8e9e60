import Foundation
import Testing
import TrainyardServer

/// What a job created through the SageMaker endpoint runs with and leaves behind (`sagemaker-compat.md` §6, 14–16 and
/// 18), read back through boto3 and the object store: one job, whichever API created it.
@Suite(.serialized) struct SageMakerContractTests {
    /// A trainer for the SDK's script convention (`sagemaker_program` in `sagemaker_submit_directory`): on two hosts,
    /// algo-1 listens on 7777 and algo-2 connects to it by name; each records what the contract gave it.
    static let contractTrainer = #"""
        import json, os, socket, time
        host = os.environ["SM_CURRENT_HOST"]
        config = "/opt/ml/input/config"
        with open(f"{config}/resourceconfig.json") as handle:
            resource = json.load(handle)
        with open(f"{config}/hyperparameters.json", "rb") as handle:
            hyperparameters = handle.read().decode()
        report = {"resource": resource, "hyperparameters": json.loads(hyperparameters),
                  "env": {k: os.environ.get(k) for k in ("TRAINING_JOB_NAME", "TRAINING_JOB_ARN", "AWS_REGION")}}
        if host == "algo-1":
            server = socket.socket()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("0.0.0.0", 7777))
            server.listen(1)
            server.settimeout(120)
            peer, _ = server.accept()
            peer.sendall(b"hello from algo-1")
            peer.close()
        else:
            for _ in range(600):
                try:
                    with socket.create_connection(("algo-1", 7777), timeout=2) as connection:
                        report["peer"] = connection.recv(100).decode()
                        break
                except OSError:
                    time.sleep(0.2)
        os.makedirs("/opt/ml/model", exist_ok=True)
        with open(f"/opt/ml/model/report-{host}.json", "w") as handle:
            json.dump(report, handle)
        print(f"{host} reported", flush=True)
        """#

    @Test func artifactsFailureAndTheContractOnTwoHosts() async throws {
        try await LiveApp.run { app in
            let code = app.dataDirectory + "/code-contract"
            try FileManager.default.createDirectory(atPath: code, withIntermediateDirectories: true)
            try Self.contractTrainer.write(toFile: code + "/train.py", atomically: true, encoding: .utf8)
            var environment = SageMakerClients.environment(app, token: app.token)
            environment["OBJECTS"] = app.dataDirectory + "/objects"
            environment["CODE"] = code
            let script = SageMakerClients.prelude + SageMakerEndpointTests.base + #"""
                import tarfile
                def wait(name):
                    for _ in range(600):
                        described = sm.describe_training_job(TrainingJobName=name)
                        if described["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
                            return described
                        time.sleep(0.5)
                    raise AssertionError(f"{name} did not end: {described}")
                def members(uri):
                    path = os.path.join(os.environ["OBJECTS"], uri[len("s3://"):])
                    with tarfile.open(path) as archive:
                        return {m.name.lstrip("./"): archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}

                sh = {"ContainerEntrypoint": ["/bin/sh"], "ContainerArguments": ["-c",
                      "mkdir -p /opt/ml/model /opt/ml/output/data && echo weights > /opt/ml/model/m.bin && echo data > /opt/ml/output/data/d.txt"
                      " && echo loss=0.5 && echo loss=0.25 && sleep 1.5"],
                      "MetricDefinitions": [{"Name": "loss", "Regex": "loss=([0-9.]+)"}]}
                sm.create_training_job(**base(TrainingJobName="done", AlgorithmSpecification=sh))
                done = wait("done")
                check("14: Completed/Completed", (done["TrainingJobStatus"], done["SecondaryStatus"]) == ("Completed", "Completed"), done)
                check("14: start before end", done["TrainingStartTime"] <= done["TrainingEndTime"], done)
                check("14: training and billable seconds", done["TrainingTimeInSeconds"] >= 1 and 1 <= done["BillableTimeInSeconds"] <= done["TrainingTimeInSeconds"], done)
                check("14: the model's archive holds m.bin", members(done["ModelArtifacts"]["S3ModelArtifacts"]).get("m.bin") == b"weights\n", done["ModelArtifacts"])
                check("14: output.tar.gz holds d.txt", members("s3://bkt/out/done/output/output.tar.gz").get("d.txt") == b"data\n")
                metrics = [(m["MetricName"], m["Value"]) for m in done.get("FinalMetricDataList", [])]
                check("MetricDefinitions give FinalMetricDataList, the last value of each", metrics == [("loss", 0.25)], done.get("FinalMetricDataList"))

                sm.create_training_job(**base(TrainingJobName="boom", AlgorithmSpecification={"ContainerEntrypoint": ["/bin/sh"],
                                              "ContainerArguments": ["-c", "mkdir -p /opt/ml/output && echo boom > /opt/ml/output/failure; exit 1"]}))
                failed = wait("boom")
                check("15: Failed/Failed", (failed["TrainingJobStatus"], failed["SecondaryStatus"]) == ("Failed", "Failed"), failed)
                check("15: the failure file is the reason", "boom" in failed["FailureReason"] and len(failed["FailureReason"]) <= 1024, failed)
                try:
                    sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="boom", WaiterConfig={"Delay": 1, "MaxAttempts": 5})
                    check("13: the waiter fails on a failed job", False)
                except botocore.exceptions.WaiterError as error:
                    check("13: the waiter fails on a failed job", "Failed" in str(error), str(error))

                hyperparameters = {"lr": "0.1", "name": "\"x\"", "sagemaker_program": "\"train.py\"",
                                   "sagemaker_submit_directory": json.dumps("file://" + os.environ["CODE"])}
                arn = sm.create_training_job(**base(TrainingJobName="contract", HyperParameters=hyperparameters,
                                                    AlgorithmSpecification={"ContainerEntrypoint": None, "ContainerArguments": None},
                                                    ResourceConfig={"InstanceCount": 2}))["TrainingJobArn"]
                contract = wait("contract")
                check("16: the two-host job completed", contract["TrainingJobStatus"] == "Completed", contract)
                files = members(contract["ModelArtifacts"]["S3ModelArtifacts"])
                second = json.loads(files["report-algo-2.json"])
                resource = second["resource"]
                check("16: resourceconfig.json on algo-2", resource["current_host"] == "algo-2" and resource["hosts"] == ["algo-1", "algo-2"]
                      and resource["current_instance_type"] == "ml.m5.xlarge" and resource.get("network_interface_name") and resource.get("current_group_name"), resource)
                check("16: hyperparameters.json is the request's map", second["hyperparameters"] == hyperparameters, second["hyperparameters"])
                check("16: algo-1 resolves and answers on 7777", second.get("peer") == "hello from algo-1", second)
                check("16: the job's name, ARN and region", second["env"] == {"TRAINING_JOB_NAME": "contract", "TRAINING_JOB_ARN": arn, "AWS_REGION": "us-east-1"}, second["env"])
                """#
            let (status, output) = try await SageMakerClients.python(script, environment: environment)
            #expect(status == 0, "\(output)")
        }
    }

    @Test func aSpotJobResumesFromItsCheckpointsAfterAnInterruptionAndWaitsNoLongerThanMaxWait() async throws {
        try await LiveApp.run(workers: SpotTests.workers()) { app in
            let seeded = app.dataDirectory + "/objects/bkt/ckpt"
            try FileManager.default.createDirectory(atPath: seeded, withIntermediateDirectories: true)
            try "seed".write(toFile: seeded + "/a.pt", atomically: true, encoding: .utf8)
            var environment = SageMakerClients.environment(app, token: app.token)
            environment["OBJECTS"] = app.dataDirectory + "/objects"
            environment["TRAINYARD_URL"] = app.baseURL
            environment["TRAINYARD_TOKEN"] = app.token
            let script = SageMakerClients.prelude + SageMakerEndpointTests.base + #"""
                import urllib.request
                def admin(method, path, body=None):
                    request = urllib.request.Request(os.environ["TRAINYARD_URL"] + path, method=method, data=json.dumps(body).encode() if body else None,
                                                     headers={"Authorization": "Bearer " + os.environ["TRAINYARD_TOKEN"], "Content-Type": "application/json"})
                    with urllib.request.urlopen(request) as answer:
                        return json.loads(answer.read() or b"{}")
                def lines(name):
                    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=name + "/")["logStreams"]
                    found = []
                    for stream in streams:
                        page = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream["logStreamName"], startFromHead=True)
                        found += [e["message"] for e in page["events"]]
                    return found
                def until(what, condition, seconds=120):
                    deadline = time.time() + seconds
                    while time.time() < deadline:
                        value = condition()
                        if value:
                            return value
                        time.sleep(0.3)
                    raise AssertionError(f"timed out waiting for {what}")

                program = ("ck=/opt/ml/checkpoints; [ -f $ck/a.pt ] && echo seeded a; [ -f $ck/b.pt ] && echo restored b; "
                           "echo b > $ck/b.pt; echo wrote b; trap 'exit 143' TERM; while true; do sleep 0.1; done")
                sm.create_training_job(**base(TrainingJobName="spot-ckpt", EnableManagedSpotTraining=True, Environment={"PROGRAM": program},
                                              StoppingCondition={"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 1200},
                                              CheckpointConfig={"S3Uri": "s3://bkt/ckpt"},
                                              AlgorithmSpecification={"ContainerArguments": ["-c", "eval \"$PROGRAM\""]}))
                until("the first attempt to start", lambda: "wrote b" in lines("spot-ckpt"))
                check("18: the seeded checkpoint is there at start", "seeded a" in lines("spot-ckpt") and "restored b" not in lines("spot-ckpt"), lines("spot-ckpt"))
                until("b.pt in S3", lambda: os.path.exists(os.path.join(os.environ["OBJECTS"], "bkt/ckpt/b.pt")))
                check("18: a checkpoint written during the run appears in S3", True)

                host = admin("GET", "/v1/jobs/spot-ckpt")["attempts"][-1]["hosts"][0]["id"]
                admin("POST", f"/v1/admin/hosts/{host}/interrupt")
                until("the second attempt to restore b.pt", lambda: "restored b" in lines("spot-ckpt"))
                described = sm.describe_training_job(TrainingJobName="spot-ckpt")
                statuses = [t["Status"] for t in described["SecondaryStatusTransitions"]]
                check("18: Interrupted, then Training again", "Interrupted" in statuses and statuses[statuses.index("Interrupted"):].count("Training") >= 1, statuses)
                check("18: still InProgress", described["TrainingJobStatus"] == "InProgress", described["TrainingJobStatus"])
                sm.stop_training_job(TrainingJobName="spot-ckpt")

                admin("PUT", "/v1/admin/capacity", {"instance_type": "ml.c5.xlarge", "spot": 0})
                sm.create_training_job(**base(TrainingJobName="spot-waits", EnableManagedSpotTraining=True, ResourceConfig={"InstanceType": "ml.c5.xlarge"},
                                              StoppingCondition={"MaxRuntimeInSeconds": 2, "MaxWaitTimeInSeconds": 3}))
                ended = until("spot-waits to end", lambda: (lambda d: d if d["TrainingJobStatus"] != "InProgress" else None)(sm.describe_training_job(TrainingJobName="spot-waits")), 60)
                check("18: not run within MaxWait: Stopped/MaxWaitTimeExceeded", (ended["TrainingJobStatus"], ended["SecondaryStatus"]) == ("Stopped", "MaxWaitTimeExceeded"), ended)
                """#
            let (status, output) = try await SageMakerClients.python(script, environment: environment)
            #expect(status == 0, "\(output)")
        }
    }
}
