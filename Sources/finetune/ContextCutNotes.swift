import FineTuning
import TerminalUI

/// The one-line notes that say how many examples of a file did not fit the model's context and what was cut to
/// fit them (nil when nothing was). `noun`: what the examples are ("training text", "validation pair", ...).
enum ContextCutNotes {
    static func texts(_ cuts: TextCuts, file: String, noun: String, context: Int) -> String? {
        guard cuts.cut > 0 else { return nil }
        // The classifier reads a text's first tokens (it pools the last one kept).
        return "note: \(file): \(cuts.cut) of \(counted(cuts.examples, noun)) \(cuts.cut == 1 ? "is" : "are") longer "
            + "than the model's context of \(counted(context, "token")): only the first \(context) tokens are read (the end is cut)"
    }

    static func pairs(_ cuts: CompletionCuts, file: String, noun: String, context: Int) -> String? {
        guard cuts.cut > 0 else { return nil }
        func part(_ count: Int, _ one: String, _ many: String) -> String? {
            count > 0 ? "\(count) \(count == 1 ? one : many)" : nil
        }
        let parts = [
            part(cuts.promptShortened, "loses the start of its prompt", "lose the start of their prompt"),
            part(cuts.promptLost, "loses its whole prompt and template, leaving a completion with no prompt at all",
                 "lose their whole prompt and template, leaving a completion with no prompt at all"),
            part(cuts.completionShortened, "loses the end of its completion and its end-of-sequence token",
                 "lose the end of their completion and its end-of-sequence token"),
        ].compactMap { $0 }
        return "note: \(file): \(cuts.cut) of \(counted(cuts.examples, noun)) \(cuts.cut == 1 ? "does" : "do") not fit "
            + "the model's context of \(counted(context, "token")): " + parts.joined(separator: "; ")
    }
}
