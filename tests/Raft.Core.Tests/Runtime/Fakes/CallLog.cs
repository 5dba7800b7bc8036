using System.Collections.Concurrent;

namespace Raft.Core.Tests.Runtime.Fakes;

// The order in which fakes were called, shared by the fakes of one test.
public sealed class CallLog
{
    private readonly ConcurrentQueue<string> _calls = new();

    public IReadOnlyList<string> Calls => [.. _calls];

    public void Add(string call) => _calls.Enqueue(call);
}
