using Raft.Core.Messages;

namespace Raft.Core.Engine;

// Placeholder while the engine is written; replaced by the real implementation.
internal sealed class RaftState
{
    public RaftState(RaftOptions options, InitialState initialState) { Id = options.Id; _ = initialState; }
    public string Id { get; }
    public RaftStatus Status => throw new NotSupportedException();
    public void Tick() => throw new NotSupportedException();
    public void Campaign() => throw new NotSupportedException();
    public void Step(Message m) => throw new NotSupportedException();
    public ProposeOutcome Propose(ReadOnlyMemory<byte> data) => throw new NotSupportedException();
    public void ReportUnreachable(string id) => throw new NotSupportedException();
    public bool HasReady() => throw new NotSupportedException();
    public Ready GetReady() => throw new NotSupportedException();
    public void Advance(Ready r) => throw new NotSupportedException();
}
