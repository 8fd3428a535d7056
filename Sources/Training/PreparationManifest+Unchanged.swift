import Foundation
import Tokenizer

extension PreparationManifest.Corpus {
    /// Whether the file is still the one its scan found, after the encoding read `encodedBytes` of it: as many bytes
    /// and the same modification time. A file written to while it is prepared (a log still being appended to, a
    /// download still running) would give token files of other text than the manifest records: the next run would
    /// reuse them for the text scanned, or refuse them as made from other input.
    func isUnchanged(encodedBytes: Int) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return encodedBytes == bytes && InputFile.modificationTime(info) == modified
    }
}
