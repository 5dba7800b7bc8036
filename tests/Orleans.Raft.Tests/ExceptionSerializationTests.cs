using Microsoft.Extensions.DependencyInjection;
using Orleans.Raft.Membership;
using Orleans.Raft.Storage;
using Orleans.Serialization;
using Raft.Core.Runtime;

namespace Orleans.Raft.Tests;

// The provider's exceptions reach grain callers through Orleans serialization, so their causes must serialize too:
// Raft.Core's own exceptions are not Orleans-serializable types, and once made the whole response unserializable.
public sealed class ExceptionSerializationTests
{
    private readonly Serializer _serializer = new ServiceCollection()
        .AddSerializer(b => b.AddAssembly(typeof(RaftGrainStorageException).Assembly))
        .BuildServiceProvider()
        .GetRequiredService<Serializer>();

    [Fact]
    public void StorageException_WithRaftCoreCause_RoundTripsWithTheCauseAsText()
    {
        var failure = new RaftQuorumUnavailableException("no quorum", new NotLeaderException("n1", leaderId: null));

        var copy = _serializer.Deserialize<Exception>(_serializer.SerializeToArray<Exception>(failure));

        var quorum = Assert.IsType<RaftQuorumUnavailableException>(copy);
        Assert.Equal("no quorum", quorum.Message);
        Assert.NotNull(quorum.InnerException);
        Assert.Contains(typeof(NotLeaderException).FullName!, quorum.InnerException.Message, StringComparison.Ordinal);
    }

    // A .NET exception can carry one Orleans cannot serialize further down (the forwarding client's IOException wraps
    // gRPC's RpcException): the whole chain is kept as text then.
    [Fact]
    public void MembershipChangeException_WithAnUnserializableCauseDeepInItsChain_RoundTripsWithTheChainAsText()
    {
        var lost = new IOException("the answer was lost", new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Internal, "reset")));
        var failure = new RaftMembershipChangeException("could not add now", lost);

        var copy = Assert.IsType<RaftMembershipChangeException>(_serializer.Deserialize<Exception>(_serializer.SerializeToArray<Exception>(failure)));

        Assert.Equal("could not add now", copy.Message);
        Assert.Contains("the answer was lost", copy.InnerException!.Message, StringComparison.Ordinal);
        Assert.Contains(typeof(Grpc.Core.RpcException).FullName!, copy.InnerException.Message, StringComparison.Ordinal);
    }

    // Every inner exception of an aggregate counts, not only the first; one whose inner exceptions are all .NET's
    // travels as it is.
    [Fact]
    public void AggregateCauses_AreKeptWhenSerializable_AndTurnedToTextWhenAnyIsNot()
    {
        var plain = new RaftMembershipChangeException("plain", new AggregateException(new IOException("one"), new TimeoutException("two")));
        var kept = Assert.IsType<AggregateException>(RoundTrip(plain).InnerException);
        Assert.Equal(2, kept.InnerExceptions.Count);

        var mixed = new RaftMembershipChangeException("mixed", new AggregateException(new IOException("one"), new NotLeaderException("n1", leaderId: null)));
        var text = Assert.IsType<RaftGrainStorageException>(RoundTrip(mixed).InnerException);
        Assert.Contains(typeof(NotLeaderException).FullName!, text.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JournalConflict_RoundTripsWithBothETags()
    {
        var conflict = new RaftJournalConflictException("conflict", storedETag: 12, expectedETag: 7);

        var copy = Assert.IsType<RaftJournalConflictException>(_serializer.Deserialize<Exception>(_serializer.SerializeToArray<Exception>(conflict)));

        Assert.Equal((12L, 7L, "12", "7"), (copy.StoredETag, copy.ExpectedETag, copy.StoredEtag, copy.CurrentEtag));
    }

    private Exception RoundTrip(Exception exception) => _serializer.Deserialize<Exception>(_serializer.SerializeToArray(exception))!;
}
