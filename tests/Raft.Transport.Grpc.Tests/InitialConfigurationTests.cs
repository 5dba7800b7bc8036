using Grpc.Core;
using Raft.Testing.Conformance;
using Raft.Transport.Grpc.Security;
using Raft.Transport.Grpc.Tests.Infrastructure;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Tests;

// Nodes started with different initial configurations (InitialConfigurationId) refuse each other's node-to-node calls;
// a caller that sends none (a build without the setting) is still served, so a cluster can be upgraded node by node.
public sealed class InitialConfigurationTests
{
    [Fact]
    public async Task AStreamFromANodeStartedWithAnotherInitialConfiguration_IsRefused_SayingWhy()
    {
        await using var pair = await Pair.StartAsync(o => o.InitialConfigurationId = "voters-1");
        using var raw = new RawPeer(pair.B.Address);
        var headers = RawPeer.Headers("test", "a");
        headers.Add(CallHeaders.InitialConfigurationId, "voters-2");

        var refusal = await raw.StreamUntilRefusedAsync(headers, Batch(Heartbeat("a", "b", -7)));

        Assert.Equal(StatusCode.PermissionDenied, refusal.StatusCode);
        Assert.Contains("Node 'a' was started with another initial configuration ('voters-2') than node 'b' ('voters-1')", refusal.Status.Detail, StringComparison.Ordinal);
        await pair.AssertBServesAAsync();
        Assert.DoesNotContain(pair.HandlerB.Messages, m => m.Index == -7);
    }

    [Fact]
    public async Task TwoTransportsWithDifferentInitialConfigurations_NeverDeliverToEachOther()
    {
        await using var pair = await Pair.StartAsync(o => o.InitialConfigurationId = o.NodeId == "a" ? "voters-1" : "voters-2");

        await Eventually.TrueAsync(
            () =>
            {
                pair.A.Send(Messages.Heartbeat("a", "b", -9));
                return pair.HandlerA.Unreachable.Contains("b");
            },
            "a to see b as unreachable");
        Assert.DoesNotContain(pair.HandlerB.Messages, m => m.Index == -9);
    }

    [Fact]
    public async Task ACallerThatSendsNoInitialConfiguration_IsServed()
    {
        await using var pair = await Pair.StartAsync(o => o.InitialConfigurationId = o.NodeId == "b" ? "voters-1" : null);
        await pair.AssertBServesAAsync();
    }

    [Fact]
    public void AnInitialConfigurationIdThatCannotTravelAsAHeader_IsRefusedByValidation()
    {
        var options = TestNode.Options("a");
        options.InitialConfigurationId = "has space";
        var ex = Assert.ThrowsAny<ArgumentException>(options.Validate);
        Assert.Contains("InitialConfigurationId 'has space' must be null or printable ASCII without spaces", ex.Message, StringComparison.Ordinal);
    }

    private static Proto.RaftMessage Heartbeat(string from, string to, long index) =>
        new() { Type = Proto.MessageType.Heartbeat, From = from, To = to, Term = 1, Index = index };

    private static Proto.MessageBatch Batch(params Proto.RaftMessage[] messages) => new() { Messages = { messages } };
}
