using Raft.Core.Runtime;

namespace Raft.Core.Tests.Runtime;

public sealed class RaftNodeOptionsTests
{
    private static readonly RaftNodeOptions Valid = new() { Raft = new RaftOptions { Id = "a", Voters = ["a"] } };

    [Fact]
    public void Validate_Defaults_Pass()
    {
        Valid.Validate();

        Assert.Equal(TimeSpan.FromMilliseconds(50), Valid.TickInterval);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Validate_NonPositiveTickInterval_ThrowsNamingIt(int milliseconds)
    {
        var ex = Assert.Throws<ArgumentException>(() => (Valid with { TickInterval = TimeSpan.FromMilliseconds(milliseconds) }).Validate());

        Assert.Contains("TickInterval", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MissingRaftOptions_ThrowsNamingThem()
    {
        var ex = Assert.Throws<ArgumentException>(() => (Valid with { Raft = null! }).Validate());

        Assert.Contains("Raft", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_InvalidEngineOptions_AreCheckedToo()
    {
        var ex = Assert.Throws<ArgumentException>(() => (Valid with { Raft = Valid.Raft with { Voters = [] } }).Validate());

        Assert.Contains("Voters", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NoEventsPerIteration_Throws()
    {
        Assert.Throws<ArgumentException>(() => (Valid with { MaxEventsPerIteration = 0 }).Validate());
        Assert.Throws<ArgumentException>(() => (Valid with { MaxPendingApplyBatches = 0 }).Validate());
    }
}
