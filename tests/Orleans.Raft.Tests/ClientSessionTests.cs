using Orleans.Raft.Storage;

namespace Orleans.Raft.Tests;

// The provider's side of its client session (thesis §6.3): the lowest unacknowledged request id is the lowest id
// still outstanding, or the next id when none is.
public sealed class ClientSessionTests
{
    [Fact]
    public void LowestUnacknowledged_IsTheOldestOutstandingRequest()
    {
        var session = new ClientSession();
        Assert.Equal(1, session.LowestUnacknowledged);
        var first = session.Begin();
        var second = session.Begin();
        var third = session.Begin();

        session.End(second);
        Assert.Equal(first, session.LowestUnacknowledged);
        session.End(first);
        Assert.Equal(third, session.LowestUnacknowledged);
        session.End(third);
        Assert.Equal(third + 1, session.LowestUnacknowledged);
    }

    // One request stuck while thousands pass it (a slow write among fast ones): nothing below it is acknowledged, and
    // once it ends everything up to the newest outstanding one is. Checked against a sorted set at every step.
    [Fact]
    public void LowestUnacknowledged_MatchesASortedSetOfOutstandingRequests_ForASeededRandomOrder()
    {
        const int seed = 20261126;
        var random = new Random(seed);
        var session = new ClientSession();
        var outstanding = new SortedSet<long>();
        var stuck = session.Begin();
        outstanding.Add(stuck);
        for (var step = 0; step < 5_000; step++)
        {
            if (outstanding.Count < 2 || random.Next(3) > 0)
            {
                outstanding.Add(session.Begin());
            }
            else
            {
                var ending = outstanding.Skip(1 + random.Next(outstanding.Count - 1)).First();
                session.End(ending);
                outstanding.Remove(ending);
            }

            Assert.True(outstanding.Min == session.LowestUnacknowledged, $"seed {seed}, step {step}");
        }

        session.End(stuck);
        outstanding.Remove(stuck);
        Assert.Equal(outstanding.Min, session.LowestUnacknowledged);
    }
}
