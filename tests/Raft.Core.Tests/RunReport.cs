using Xunit.Abstractions;
using Xunit.Sdk;

namespace Raft.Core.Tests;

/// <summary>
/// Prints a line in the console output of a plain <c>dotnet test</c> run (through xunit's diagnostic messages,
/// enabled in xunit.runner.json), for results a reader of the CI log should see even when every test passes,
/// such as how many simulator seeds ran.
/// </summary>
public sealed class RunReport(IMessageSink sink)
{
    public void Print(string line) => sink.OnMessage(new DiagnosticMessage(line));
}
