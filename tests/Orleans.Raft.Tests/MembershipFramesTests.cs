using Orleans.Raft.Networking;
using Raft.Core.Membership;
using Raft.Core.Runtime;

namespace Orleans.Raft.Tests;

// A membership change forwarded over gRPC: the leader's silo's answer, done or failed, reaches the caller as the same
// configuration or the same kind of exception, and malformed bytes are refused.
public sealed class MembershipFramesTests
{
    [Theory]
    [InlineData(RaftMembershipOperation.AddVoter, "silo-3", null)]
    [InlineData(RaftMembershipOperation.RemoveMember, "nœud-1", null)]
    [InlineData(RaftMembershipOperation.AddVoter, "silo-3", "10.0.0.4:7001")]
    [InlineData(RaftMembershipOperation.AddVoter, "s", "[::1]:7001")]
    public void ARequest_RoundTrips(RaftMembershipOperation operation, string nodeId, string? address)
    {
        var request = new RaftMembershipRequest(operation, nodeId, address);
        Assert.Equal(request, MembershipFrames.DecodeRequest(MembershipFrames.EncodeRequest(request)));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 1 })]
    [InlineData(new byte[] { 3, (byte)'a' })]
    [InlineData(new byte[] { 0, (byte)'a' })]
    [InlineData(new byte[] { 0x81, 1, 0, 0 })] // with an address: the id's length cut short
    [InlineData(new byte[] { 0x81, 1, 0, 0, 0, (byte)'a' })] // no address after the id
    [InlineData(new byte[] { 0x81, 0, 0, 0, 0, (byte)'a' })] // an empty id
    [InlineData(new byte[] { 0x81, 0xFF, 0xFF, 0xFF, 0xFF, (byte)'a', (byte)'b' })] // a negative length
    [InlineData(new byte[] { 0x83, 1, 0, 0, 0, (byte)'a', (byte)'b' })] // no such operation
    public void AMalformedRequest_IsRefused(byte[] frame) =>
        Assert.Throws<InvalidDataException>(() => MembershipFrames.DecodeRequest(frame));

    [Fact]
    public void ADoneAnswer_CarriesTheConfiguration()
    {
        var configuration = new ClusterConfiguration(["a", "b", "c"], ["d"]);
        Assert.Equal(configuration, MembershipFrames.DecodeReply(MembershipFrames.EncodeDone(configuration), "a"));
    }

    public static TheoryData<Exception, Type> Failures => new()
    {
        { new NotLeaderException("b", "c"), typeof(NotLeaderException) },
        { new RequestRejectedException("another change is pending"), typeof(RequestRejectedException) },
        { new ProposalDroppedException("just elected"), typeof(ProposalDroppedException) },
        { new TimeoutException("not confirmed"), typeof(TimeoutException) },
        { new ArgumentException("no address for 'x'"), typeof(ArgumentException) },
        { new ArgumentNullException("nodeId"), typeof(ArgumentException) },
        { new RaftNodeStoppedException("the leader's node stopped"), typeof(NotLeaderException) },
        { new ProposalSupersededException(5, 2, 3), typeof(ProposalSupersededException) },
        { new ProposalResultUnknownException("the leader stepped down"), typeof(ProposalResultUnknownException) },
        { new NotSupportedException("no forwarding here"), typeof(NotSupportedException) },
        { new InvalidOperationException("something else"), typeof(InvalidOperationException) },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void AFailure_IsThrownAgainAsItsKind_SayingWhoAnswered(Exception failure, Type thrown)
    {
        var reply = MembershipFrames.EncodeFailure(failure);
        var exception = Assert.Throws(thrown, () => MembershipFrames.DecodeReply(reply, "silo-0"));
        Assert.StartsWith("Node 'silo-0' answered: ", exception.Message, StringComparison.Ordinal);
        Assert.Contains(failure.Message, exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 10 })]
    public void AMalformedAnswer_IsRefused(byte[] frame) =>
        Assert.Throws<InvalidDataException>(() => MembershipFrames.DecodeReply(frame, "silo-0"));
}
