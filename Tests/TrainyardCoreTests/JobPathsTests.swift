import Testing
import TrainyardCore

@Suite struct JobPathsTests {
    @Test func aJobsObjectsAreLaidOutAsSageMakerDoesWhateverTheOutputPathsSlashes() {
        for output in ["s3://models/team", "s3://models/team/", "s3://models/team//"] {
            let paths = JobPaths(outputPath: output, jobName: "mnist-1")
            #expect(paths.base == "s3://models/team/mnist-1")
            #expect(paths.artifact(.model) == "s3://models/team/mnist-1/output/model.tar.gz")
            #expect(paths.artifact(.output) == "s3://models/team/mnist-1/output/output.tar.gz")
            #expect(paths.attemptPrefix(2) == "s3://models/team/mnist-1/attempts/2")
            #expect(paths.hostArchive(attempt: 2, host: "algo-1", .model) == "s3://models/team/mnist-1/attempts/2/algo-1/model.tar.gz")
            #expect(paths.sourceArchive == "s3://models/team/mnist-1/source/sourcedir.tar.gz")
            #expect(JobPaths.hostArchive(attemptPrefix: paths.attemptPrefix(2) + "/", host: "algo-1", .output) == paths.hostArchive(attempt: 2, host: "algo-1", .output))
        }
    }

    /// Schemathesis found `output_path=file:///` made `file:/F-F/source/…`, which no store reads: a 500.
    @Test func theRootOfTheFilesystemKeepsItsSchemesSlashes() {
        for output in ["file:///", "file:////"] {
            let paths = JobPaths(outputPath: output, jobName: "F-F")
            #expect(paths.sourceArchive == "file:///F-F/source/sourcedir.tar.gz")
            #expect((try? ObjectURI(parsing: paths.artifact(.model))) == .file(path: "/F-F/output/model.tar.gz"))
        }
        #expect(JobPaths(outputPath: "s3://models/", jobName: "a").base == "s3://models/a")
    }
}

