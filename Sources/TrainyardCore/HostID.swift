/// The id of one worker host of one attempt: `<job name>-<attempt>-algo-<N>-j<job id>`, e.g. `mnist-1-algo-2-j42`.
///
/// Job names are unique per project only, so a name alone does not tell two projects' `mnist` apart; the job's id
/// (unique across projects) does. The id names the host's worker directory and prefixes its agent token, and admins
/// pass it to the interrupt call. Ids of the earlier form `<job name>-<attempt>-algo-<N>` (still in databases from
/// before) never equal one of this form: theirs end in `algo-<N>`, these in `algo-<N>-j<id>`.
public enum HostID {
    /// The id of host number `ordinal` (1-based, `algo-<ordinal>`) of attempt `attempt` of the job `jobID`/`jobName`.
    public static func make(jobID: Int64, jobName: String, attempt: Int, ordinal: Int) -> String {
        "\(jobName)-\(attempt)-\(hostName(ordinal: ordinal))-j\(jobID)"
    }

    /// The host's name inside its gang, `algo-<ordinal>`, as SageMaker names it.
    public static func hostName(ordinal: Int) -> String {
        "algo-\(ordinal)"
    }
}
