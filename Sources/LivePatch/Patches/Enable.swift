internal import CLivePatchShim

func logFailedToEnable(_ patch: Patch) {
    var line = LogLine()
    line.text("failed to enable patch ")
    line.quoted(patch.name)
    logLine(line)
}
