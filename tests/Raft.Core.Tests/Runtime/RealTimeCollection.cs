namespace Raft.Core.Tests.Runtime;

// Tests that run nodes on the wall clock; one at a time, so timers are not starved by parallel tests.
[CollectionDefinition(Name)]
public sealed class RealTimeCollection
{
    public const string Name = "Real-time runtime";
}
