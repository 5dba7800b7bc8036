using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Tests.Runtime.Fakes;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// A follower's read asks the leader for the read index in a message whose context names the read. An answer may
// arrive late, after the follower restarted: it must not complete a read of the new incarnation, whose index may be
// newer than the one answered. The follower n2 runs for real; the test plays its leader n1.
public sealed class RaftNodeReadContextTests
{
    private readonly ManualTimeProvider _time = new() { UtcNow = new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero) };
    private readonly ScriptedPeerTransport _peers = new();
    private readonly InMemoryLogStore _log = new();
    private readonly InMemoryHardStateStore _hardState = new();

    // The wall clock reads the same at both starts, as one stepped back across the restart (NTP, a restored VM) may:
    // read contexts drawn from it named both incarnations' first reads alike.
    [Fact]
    public async Task Follower_RestartedWhileItsReadWasAnswered_DoesNotTakeTheLateAnswerForANewRead()
    {
        var before = await StartFollowerAsync();
        var earlier = await RequestReadAsync(before, requestsBefore: 0);
        await before.DisposeAsync();
        _ = earlier.Exception;

        var after = await StartFollowerAsync();
        try
        {
            var read = after.WaitForLinearizableReadAsync();
            await Eventually.TrueAsync(() => _peers.CountSent(MessageType.ReadIndex, "n1") == 2, "the new incarnation's read request");
            var firstContext = _peers.Sent.First(m => m.Type == MessageType.ReadIndex).Context;

            _peers.Deliver(new Message { Type = MessageType.ReadIndexResponse, From = "n1", To = "n2", Term = 1, Index = 0, Context = firstContext });
            await Task.WhenAny(read, Task.Delay(TimeSpan.FromMilliseconds(300)));

            Assert.False(read.IsCompleted, "a read of the new incarnation completed with the answer meant for the old one");
        }
        finally
        {
            await after.DisposeAsync();
        }
    }

    private async Task<RaftNode> StartFollowerAsync()
    {
        var options = TestCluster.Options("n2", ["n1", "n2", "n3"]) with { TransferLeadershipOnStop = false };
        var node = new RaftNode(options, _log, _hardState, _peers, new TestStateMachine(), _time);
        await node.StartAsync();
        var answered = _peers.CountSent(MessageType.HeartbeatResponse, "n1");
        _peers.Deliver(new Message { Type = MessageType.Heartbeat, From = "n1", To = "n2", Term = 1, Index = 1, Commit = 0 });
        await Eventually.TrueAsync(() => _peers.CountSent(MessageType.HeartbeatResponse, "n1") > answered, "n2 to follow n1");
        return node;
    }

    private async Task<Task<long>> RequestReadAsync(RaftNode node, int requestsBefore)
    {
        var read = node.WaitForLinearizableReadAsync();
        await Eventually.TrueAsync(() => _peers.CountSent(MessageType.ReadIndex, "n1") > requestsBefore, "n2 to ask n1 for a read index");
        return read;
    }
}
