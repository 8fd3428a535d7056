import FineTuneData

/// The fields a fine-tuning run read its data from. A fine-tuned checkpoint stores them beside its prompt template
/// (config.json `swiftlet.notes`: `text_field` and `label_field` for a classifier, `prompt_field` and
/// `completion_field` for a completion model), so `evaluate` and `predict` read data of the same layout without
/// the options being given again.
public struct DataFields: Equatable, Sendable {
    public var text = "text", label = "label", prompt = "prompt", completion = "completion"

    public static let textNoteKey = "text_field", labelNoteKey = "label_field"
    public static let promptNoteKey = "prompt_field", completionNoteKey = "completion_field"
    static let noteKeys = [textNoteKey, labelNoteKey, promptNoteKey, completionNoteKey]

    public init() {}

    /// The fields a checkpoint's notes name; the defaults for those they do not (checkpoints of older versions).
    public init(notes: [String: String]?) {
        let notes = notes ?? [:]
        text = notes[Self.textNoteKey] ?? text
        label = notes[Self.labelNoteKey] ?? label
        prompt = notes[Self.promptNoteKey] ?? prompt
        completion = notes[Self.completionNoteKey] ?? completion
    }
}

extension DataFields {
    /// For `LabelledDataReader.fieldOrigins`: each option not `given` whose field the checkpoint's notes name.
    public static func origins(notes: [String: String]?, checkpoint: String, given: [String: Bool]) -> [String: String] {
        let keys = ["--text-field": textNoteKey, "--label-field": labelNoteKey, "--prompt-field": promptNoteKey,
                    "--completion-field": completionNoteKey]
        var origins: [String: String] = [:]
        for (option, key) in keys where given[option] != true && notes?[key] != nil {
            origins[option] = "the field \(checkpoint) was trained with"
        }
        return origins
    }
}

extension TaskSettings {
    /// `notes` with this run's fields recorded: those its task reads, and no other (a checkpoint it started
    /// from may have recorded the other task's, and a completion model has no majority label nor a classifier a
    /// prompt template).
    public func recordingFields(in notes: [String: String]) -> [String: String] {
        var notes = notes
        for key in DataFields.noteKeys { notes[key] = nil }
        switch task {
        case .classify:
            notes[TaskSettings.templateNoteKey] = nil
            notes[DataFields.textNoteKey] = textField
            notes[DataFields.labelNoteKey] = labelField
        case .complete:
            notes[MajorityBaseline.noteKey] = nil
            notes[DataFields.promptNoteKey] = promptField
            notes[DataFields.completionNoteKey] = completionField
        }
        return notes
    }
}
