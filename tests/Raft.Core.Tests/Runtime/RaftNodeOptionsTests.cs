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

    // A lease lasts ElectionTick − 1 − LeaseClockDriftTicks ticks: it must be at least one.
    [Fact]
    public void Validate_LeaseReadsWithADriftAllowanceThatLeavesNoLease_ThrowsNamingIt()
    {
        var raft = Valid.Raft with { ReadOnlyOption = Raft.Core.Engine.ReadOnlyOption.LeaseBased, ElectionTick = 4, LeaseClockDriftTicks = 3 };

        var ex = Assert.Throws<ArgumentException>(() => (Valid with { Raft = raft }).Validate());

        Assert.Contains("LeaseClockDriftTicks", ex.Message, StringComparison.Ordinal);
        (Valid with { Raft = raft with { LeaseClockDriftTicks = 2 } }).Validate();
    }

    // Without leases the allowance is not used, so a short election timeout is not refused for it.
    [Fact]
    public void Validate_SafeReadsWithAShortElectionTimeout_IgnoreTheDriftAllowance()
    {
        (Valid with { Raft = Valid.Raft with { ElectionTick = 2, LeaseClockDriftTicks = 2 } }).Validate();

        var ex = Assert.Throws<ArgumentException>(() => (Valid with { Raft = Valid.Raft with { LeaseClockDriftTicks = -1 } }).Validate());
        Assert.Contains("LeaseClockDriftTicks", ex.Message, StringComparison.Ordinal);
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

    // The log-write thread's slice is the kernel's to clamp (0.1–100 ms); outside that range the request means nothing.
    [Theory]
    [InlineData(99)]
    [InlineData(100_001)]
    public void Validate_LogWriteThreadSliceOutsideTheKernelsRange_ThrowsNamingIt(int microseconds)
    {
        var ex = Assert.Throws<ArgumentException>(() => (Valid with { LogWriteThreadSlice = TimeSpan.FromMicroseconds(microseconds) }).Validate());

        Assert.Contains("LogWriteThreadSlice", ex.Message, StringComparison.Ordinal);
        Assert.Contains("or null", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_LogWriteThreadSlice_DefaultsToNone_AndTakesTheKernelsRange()
    {
        (Valid with { LogWriteThreadSlice = TimeSpan.FromMicroseconds(100) }).Validate();
        (Valid with { LogWriteThreadSlice = TimeSpan.FromMilliseconds(100) }).Validate();

        Assert.Null(Valid.LogWriteThreadSlice);
    }
}
