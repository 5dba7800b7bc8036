using Raft.Testing.Simulation;

namespace Raft.Core.Tests.Simulation;

/// <summary>Every seed that ever failed, replayed on every run so a fixed bug stays fixed.</summary>
/// <remarks>
/// A seed's run depends on the simulator's and the engine's code too: when either changes how it draws random numbers
/// or times its messages, old seeds may stop reaching their old failure. Keep each seed anyway (it still runs a valid scenario) and add the new
/// failing seed next to it, with a line saying what the bug was.
/// </remarks>
[Trait("Category", "Simulation")]
public sealed class RegressionSeedTests
{
    [Theory]
    // Recovery: a crash between the two concurrent writes of one Ready left the hard state's commit index past the
    // durable log (the append was lost, the save landed); the engine refused to restart ("recovered commit index
    // past the last index"). Fixed by keeping the durable commit at or below the durable log (b3fb7f0).
    [InlineData(9)]
    [InlineData(19)]
    // Recovery: the log append of a Ready landed and the hard state save of the same Ready was lost, so the log holds
    // entries of a term the hard state never saw; the engine refuses to restart ("the recovered log holds term 1,
    // later than the recovered hard state's term 0"). 3561 hit it mid-run (hard state term 7, log term 8) against
    // b3fb7f0; later engine changes moved that run past it. 610 hits it mid-run against 9872aaa (a candidate of term 13
    // took entries of term 14: hard state term 13, log term 14). Fixed in ReadyProcessor: a Ready that changes the term
    // or the vote saves the hard state before it appends.
    [InlineData(805)]
    [InlineData(1826)]
    [InlineData(2626)]
    [InlineData(3561)]
    [InlineData(610)]
    // Liveness: the leader's window to a follower filled with an append the follower ignored (prevIndex below its
    // commit index) while Next moved past the leader's last index; the heartbeat response freed the window but sent
    // nothing (SendAppend with sendIfEmpty: false), so the follower never got the last entry. Fixed in 9872aaa.
    [InlineData(1512)]
    public void RegressionSeeds(long seed)
    {
        var result = Simulator.RunSeed(seed);

        Assert.Equal(seed, result.Seed);
    }
}
