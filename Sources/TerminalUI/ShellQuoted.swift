/// A path (or any word) as a shell command line needs it: as it is when it holds only characters no shell
/// treats specially, else in single quotes (a quote inside as '\''), so that a printed command can be pasted.
public func shellQuoted(_ word: String) -> String {
    let plain = !word.isEmpty && word.unicodeScalars.allSatisfy {
        ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "-_./+=:,@%".unicodeScalars.contains($0)
    }
    return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
