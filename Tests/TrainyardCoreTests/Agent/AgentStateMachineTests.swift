import Testing
import TrainyardCore

/// The agent's life without I/O: every input in every stage.
@Suite struct AgentStateMachineTests {
    typealias Machine = AgentStateMachine
    static let full = WorkerDiskFailure.volumeExceeded(volumeGiB: 1, usedBytes: 2 << 30)

    /// A machine brought to `stage` the way an agent gets there.
    static func machine(in stage: Machine.Stage) -> Machine {
        var machine = Machine()
        let path: [Machine.Input] =
            switch stage {
            case .staging: []
            case .running: [.stagingInputs, .startingCommand, .commandStarted]
            case .stopping: [.stagingInputs, .commandStarted, .stopDirective(graceSeconds: 5)]
            case .syncing: [.stagingInputs, .commandStarted, .commandEnded]
            case .uploading: [.stagingInputs, .commandStarted, .commandEnded, .uploading]
            case .done: [.stagingInputs, .commandStarted, .commandEnded, .uploading, .reported]
            }
        for input in path { _ = machine.handle(input) }
        return machine
    }

    static let inputs: [Machine.Input] = [
        .stagingInputs, .startingCommand, .commandStarted, .commandEnded, .uploading, .reported, .stopDirective(graceSeconds: 30), .reclaimNotice(graceSeconds: 90),
        .diskExhausted(full, graceSeconds: 10), .serverGone(graceSeconds: 60), .rejected,
    ]

    /// What each input does in each stage: the stage after it and the effects, by kind.
    struct Cell: CustomTestStringConvertible, Sendable {
        var stage: Machine.Stage
        var input: Machine.Input
        var after: Machine.Stage
        var effects: [String]
        var testDescription: String { "\(input) in \(stage.rawValue)" }
    }

    static func kinds(_ effects: [Machine.Effect]) -> [String] {
        effects.map { effect in
            switch effect {
            case .stopCommand(let grace): "stop \(Int(grace))"
            case .reportInterruption: "report"
            case .log: "log"
            case .ignored: "ignored"
            case .refused: "refused"
            }
        }
    }

    static let table: [Cell] = {
        var cells: [Cell] = []
        func add(_ stage: Machine.Stage, _ input: Machine.Input, _ after: Machine.Stage, _ effects: [String]) {
            cells.append(Cell(stage: stage, input: input, after: after, effects: effects))
        }
        let stopInputs: [(Machine.Input, Int)] = [
            (.stopDirective(graceSeconds: 30), 30), (.diskExhausted(full, graceSeconds: 10), 10), (.serverGone(graceSeconds: 60), 60), (.rejected, 0),
        ]
        // Staging: a stop is kept (the command will not start); a reclaim is reported at once.
        add(.staging, .stagingInputs, .staging, [])
        add(.staging, .startingCommand, .staging, [])
        add(.staging, .commandStarted, .running, [])
        add(.staging, .commandEnded, .syncing, [])
        add(.staging, .uploading, .staging, ["refused"])
        add(.staging, .reported, .staging, ["refused"])
        for (input, _) in stopInputs { add(.staging, input, .staging, ["log"]) }
        add(.staging, .reclaimNotice(graceSeconds: 90), .staging, ["log", "report", "log"])
        // Running: every stop reaches the command with its grace.
        add(.running, .stagingInputs, .running, ["refused"])
        add(.running, .startingCommand, .running, ["refused"])
        add(.running, .commandStarted, .running, ["refused"])
        add(.running, .commandEnded, .syncing, [])
        add(.running, .uploading, .running, ["refused"])
        add(.running, .reported, .running, ["refused"])
        for (input, grace) in stopInputs { add(.running, input, .stopping, ["log", "stop \(grace)"]) }
        add(.running, .reclaimNotice(graceSeconds: 90), .stopping, ["log", "report", "log", "stop 90"])
        // Stopping: the first stop's grace stands; a reclaim still marks the host interrupted.
        add(.stopping, .commandEnded, .syncing, [])
        add(.stopping, .commandStarted, .stopping, ["refused"])
        add(.stopping, .stagingInputs, .stopping, ["refused"])
        add(.stopping, .startingCommand, .stopping, ["refused"])
        add(.stopping, .uploading, .stopping, ["refused"])
        add(.stopping, .reported, .stopping, ["refused"])
        for (input, _) in stopInputs { add(.stopping, input, .stopping, ["ignored"]) }
        add(.stopping, .reclaimNotice(graceSeconds: 90), .stopping, ["log", "report", "ignored"])
        // After the command: nothing is left to stop.
        for stage in [Machine.Stage.syncing, .uploading] {
            for (input, _) in stopInputs { add(stage, input, stage, ["ignored"]) }
            add(stage, .reclaimNotice(graceSeconds: 90), stage, ["log", "report", "ignored"])
            add(stage, .commandStarted, stage, ["refused"])
            add(stage, .commandEnded, stage, ["refused"])
            add(stage, .stagingInputs, stage, ["refused"])
            add(stage, .startingCommand, stage, ["refused"])
        }
        add(.syncing, .uploading, .uploading, [])
        add(.syncing, .reported, .syncing, ["refused"])
        add(.uploading, .uploading, .uploading, ["refused"])
        add(.uploading, .reported, .done, [])
        for input in inputs {
            let effects: [String] =
                switch input {
                case .stopDirective, .diskExhausted, .serverGone, .rejected, .reclaimNotice: ["ignored"]
                default: ["refused"]
                }
            add(.done, input, .done, effects)
        }
        return cells
    }()

    @Test func theTableCoversEveryInputInEveryStage() {
        for stage in Machine.Stage.allCases {
            for input in Self.inputs {
                #expect(Self.table.contains { $0.stage == stage && $0.input == input }, "\(input) in \(stage.rawValue) has no row")
            }
        }
    }

    @Test(arguments: table)
    func eachInputInEachStage(_ cell: Cell) {
        var machine = Self.machine(in: cell.stage)
        let effects = machine.handle(cell.input)
        #expect(machine.stage == cell.after)
        #expect(Self.kinds(effects) == cell.effects)
    }

    @Test func theFirstStopSetsTheGraceAndAStopBeforeTheCommandKeepsItFromStarting() {
        var machine = Machine()
        _ = machine.handle(.stagingInputs)
        #expect(machine.phase == .downloading && machine.mayStartCommand)
        _ = machine.handle(.startingCommand)
        #expect(machine.phase == .training)
        _ = machine.handle(.stopDirective(graceSeconds: 30))
        _ = machine.handle(.serverGone(graceSeconds: 60))
        #expect(machine.stop == .init(grace: 30, cause: .directive))
        #expect(!machine.mayStartCommand)
        // Started anyway (the stop raced the start): it is stopped at once with the first grace.
        #expect(machine.handle(.commandStarted) == [.stopCommand(graceSeconds: 30)])
        #expect(machine.stage == .stopping && machine.phase == .training)
    }

    @Test func aFullDiskIsAFailureNotARequestedStop() {
        var machine = Self.machine(in: .running)
        _ = machine.handle(.diskExhausted(Self.full, graceSeconds: 10))
        _ = machine.handle(.diskExhausted(.volumeExceeded(volumeGiB: 1, usedBytes: 9), graceSeconds: 1))
        #expect(machine.diskFailure == Self.full)
        #expect(machine.stop?.cause == .diskFull)
        // A directive after it does not turn the failure into a stop.
        _ = machine.handle(.stopDirective(graceSeconds: 30))
        #expect(machine.stop?.cause == .diskFull)
    }

    @Test func aReclaimedHostSaysSoInEveryLaterReportAndThePhasesFollowTheStages() {
        var machine = Self.machine(in: .running)
        _ = machine.handle(.reclaimNotice(graceSeconds: 90))
        #expect(machine.interrupted && machine.stop == .init(grace: 90, cause: .reclaimed))
        #expect(machine.handle(.reclaimNotice(graceSeconds: 90)) == [.ignored("a second reclaim notice")])
        var phases = [machine.phase]
        for input in [Machine.Input.commandEnded, .uploading, .reported] {
            _ = machine.handle(input)
            phases.append(machine.phase)
        }
        #expect(phases == [.training, .uploading, .uploading, .exited])
        #expect(machine.interrupted)
    }
}
