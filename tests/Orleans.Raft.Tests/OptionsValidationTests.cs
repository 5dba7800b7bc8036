using Orleans.Configuration;
using Orleans.Raft.Networking;
using Orleans.Runtime;
using Orleans.Storage;

namespace Orleans.Raft.Tests;

// Each misconfiguration is refused when the silo starts, with a message that names the setting and the fix.
public sealed class OptionsValidationTests
{
    private static RaftGrainStorageOptions Valid() => new()
    {
        DataDirectory = "/tmp/raft",
        Network = new InMemoryRaftStorageNetwork(),
        Members = new Dictionary<string, string> { ["a"] = "h:1", ["b"] = "h:2", ["c"] = "h:3" },
        GrainStorageSerializer = new NoSerializer(),
    };

    private static string Fail(RaftGrainStorageOptions options, string siloName = "a") =>
        Assert.Throws<OrleansConfigurationException>(() => new RaftGrainStorageOptionsValidator(options, "raft", siloName).ValidateConfiguration()).Message;

    [Fact]
    public void Valid_Options_Pass() => new RaftGrainStorageOptionsValidator(Valid(), "raft", "a").ValidateConfiguration();

    [Fact]
    public void MissingDataDirectory_SaysToSetIt()
    {
        var options = Valid();
        options.DataDirectory = " ";
        Assert.Contains("DataDirectory is not set", Fail(options), StringComparison.Ordinal);
    }

    [Fact]
    public void GrpcNetwork_WithMemberAddressWithoutPort_NamesTheMember()
    {
        var options = Valid();
        options.Network = null;
        options.Members["c"] = "just-a-host";
        Assert.Contains("Members['c'] = 'just-a-host' is not a gRPC address", Fail(options), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0.2:7001", "10.0.0.2:7001")]
    [InlineData("localhost:7001", "localhost:7001")]
    [InlineData("silo-b.internal:7001", "0.0.0.0:7001")]
    [InlineData("http://127.0.0.1:7002", "127.0.0.1:7002")]
    public void GrpcListenAddress_IsDerivedFromMemberAddress(string member, string listen) =>
        Assert.Equal(listen, GrpcRaftStorageNetwork.DeriveListenAddress(member));

    [Fact]
    public void EmptyMembers_SaysToListEverySilo()
    {
        var options = Valid();
        options.Members.Clear();
        Assert.Contains("Members is empty", Fail(options), StringComparison.Ordinal);
    }

    [Fact]
    public void ASiloThatJoinsLater_IsInAdditionalMembers()
    {
        var options = Valid();
        options.AdditionalMembers["d"] = "h:4";
        new RaftGrainStorageOptionsValidator(options, "raft", "d").ValidateConfiguration();
        Assert.Contains("is in neither Members [a, b, c] nor AdditionalMembers [d]. If it joins a running group, add it with its address to AdditionalMembers", Fail(options, "e"), StringComparison.Ordinal);
    }

    [Fact]
    public void ASiloInBothLists_OrAnAdditionalMemberWithoutAnAddress_IsRefused()
    {
        var options = Valid();
        options.AdditionalMembers["c"] = "h:3";
        Assert.Contains("'c' is in both Members and AdditionalMembers", Fail(options), StringComparison.Ordinal);
        options.AdditionalMembers.Clear();
        options.AdditionalMembers["d"] = " ";
        Assert.Contains("AdditionalMembers['d'] has no address", Fail(options), StringComparison.Ordinal);
    }

    [Fact]
    public void MemberWithoutAddress_NamesTheMember()
    {
        var options = Valid();
        options.Members["b"] = "";
        Assert.Contains("Members['b'] has no address", Fail(options), StringComparison.Ordinal);
    }

    [Fact]
    public void SiloNotInMembers_NamesTheSiloAndTheMembers()
    {
        var message = Fail(Valid(), siloName: "z");
        Assert.Contains("'z'", message, StringComparison.Ordinal);
        Assert.Contains("[a, b, c]", message, StringComparison.Ordinal);
        Assert.Contains("If it joins a running group, add it with its address to AdditionalMembers (on this silo alone when it is added with AddVoterAsync(nodeId, address), else on every silo); if the group is new, to Members", message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExplicitNodeId_IsUsedInsteadOfSiloName()
    {
        var options = Valid();
        options.NodeId = "b";
        new RaftGrainStorageOptionsValidator(options, "raft", "not-a-member").ValidateConfiguration();
    }

    // A state the durable log cannot store would stop every node of the group, so the limit stays below its largest entry.
    [Fact]
    public void MaxStateSizeLimit_LeavesRoomForTheHeaderInTheDurableLogsLargestEntry() =>
        Assert.True(RaftGrainStorageOptionsValidator.MaxStateSizeLimit + (64 * 1024) <= new global::Raft.Storage.Faster.FasterLogStoreOptions { Directory = "unused" }.MaxEntrySize);

    [Fact]
    public void MaxStateSizeOutOfRange_GivesTheRange()
    {
        var options = Valid();
        options.MaxStateSize = 0;
        Assert.Contains("MaxStateSize is 0", Fail(options), StringComparison.Ordinal);
    }

    [Fact]
    public void OperationTimeoutBelowTwoElections_SaysWhy()
    {
        var options = Valid();
        options.OperationTimeout = TimeSpan.FromMilliseconds(100);
        Assert.Contains("two election timeouts", Fail(options), StringComparison.Ordinal);
    }

    [Fact]
    public void ElectionTickNotAboveHeartbeat_IsRefused()
    {
        var options = Valid();
        options.ElectionTick = 1;
        Assert.Contains("ElectionTick (1) must be greater than HeartbeatTick", Fail(options), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(50)]
    [InlineData(200_000)]
    public void LogWriteThreadSliceOutsideTheKernelsRange_GivesTheRange(int microseconds)
    {
        var options = Valid();
        options.LogWriteThreadSlice = TimeSpan.FromMicroseconds(microseconds);
        Assert.Contains("between 100 µs and 100 ms", Fail(options), StringComparison.Ordinal);
    }

    [Fact]
    public void LogWriteThreadSlice_DefaultsTo100Microseconds_AndMayBeNull()
    {
        var options = Valid();
        Assert.Equal(TimeSpan.FromMicroseconds(100), options.LogWriteThreadSlice);
        options.LogWriteThreadSlice = null;
        new RaftGrainStorageOptionsValidator(options, "raft", "a").ValidateConfiguration();
    }

    // The validator is registered: a silo whose name is not a member does not start.
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Silo_WithMisconfiguredMembers_FailsToStartWithTheMessage()
    {
        var ex = await Record.ExceptionAsync(async () =>
        {
            await using var cluster = await RaftTestCluster.StartAsync(1, o =>
            {
                o.Members.Clear();
                o.Members["someone-else"] = "in-memory";
            });
        });

        Assert.NotNull(ex);
        var messages = string.Join(" | ", Flatten(ex));
        Assert.Contains("is in neither Members [someone-else] nor AdditionalMembers []", messages, StringComparison.Ordinal);
    }

    private static IEnumerable<string> Flatten(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            yield return ex.Message;
            if (ex is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Flatten))
                {
                    yield return inner;
                }
            }
        }
    }

    private sealed class NoSerializer : IGrainStorageSerializer
    {
        public BinaryData Serialize<T>(T? input) => throw new NotSupportedException();

        public T? Deserialize<T>(BinaryData input) => throw new NotSupportedException();
    }
}
