using Microsoft.Extensions.DependencyInjection;
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

    [Fact]
    public void JournalConflict_RoundTripsWithBothETags()
    {
        var conflict = new RaftJournalConflictException("conflict", storedETag: 12, expectedETag: 7);

        var copy = Assert.IsType<RaftJournalConflictException>(_serializer.Deserialize<Exception>(_serializer.SerializeToArray<Exception>(conflict)));

        Assert.Equal((12L, 7L, "12", "7"), (copy.StoredETag, copy.ExpectedETag, copy.StoredEtag, copy.CurrentEtag));
    }
}
