using Orleans.Raft.Storage;
using Orleans.Runtime;

namespace Orleans.Raft.Tests;

// A node records the initial voters at its first start and refuses to start later with other ones.
public sealed class InitialVotersRecordTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("initial-voters-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void TheFirstStartRecords_AndTheSameVotersInAnyOrderPass()
    {
        InitialVotersRecord.Ensure(_directory, ["b", "a", "c"], "raft");
        Assert.True(File.Exists(Path.Combine(_directory, InitialVotersRecord.FileName)));
        InitialVotersRecord.Ensure(_directory, ["c", "b", "a"], "raft");
    }

    [Fact]
    public void OtherVoters_AreRefused_NamingTheRecordedOnes()
    {
        InitialVotersRecord.Ensure(_directory, ["a", "b", "c"], "raft");
        var ex = Assert.Throws<OrleansConfigurationException>(() => InitialVotersRecord.Ensure(_directory, ["a", "b", "c", "d"], "raft"));
        Assert.Contains("created with the initial voters [a, b, c]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Members now lists [a, b, c, d]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("set Members back to [a, b, c]", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{\"a\":1}")]
    public void AnUnreadableRecord_IsRefused_SayingWhatItHolds(string content)
    {
        File.WriteAllText(Path.Combine(_directory, InitialVotersRecord.FileName), content);
        var ex = Assert.Throws<OrleansConfigurationException>(() => InitialVotersRecord.Ensure(_directory, ["a"], "raft"));
        Assert.Contains("does not hold a list of node ids", ex.Message, StringComparison.Ordinal);
    }
}
