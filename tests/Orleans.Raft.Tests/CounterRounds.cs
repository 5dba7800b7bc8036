namespace Orleans.Raft.Tests;

// Rounds of one increment per counter grain, all at once, keeping per grain how many were acknowledged and how many
// failed (those may or may not have been applied): a grain's stored count must lie in [acknowledged, acknowledged + uncertain].
public sealed class CounterRounds(IReadOnlyList<ICounterGrain> grains)
{
    private readonly int[] _acknowledged = new int[grains.Count];
    private readonly int[] _uncertain = new int[grains.Count];

    public IReadOnlyList<int> Acknowledged => _acknowledged;

    public IReadOnlyList<int> Uncertain => _uncertain;

    // The last failure, for assertion messages.
    public Exception? LastFailure { get; private set; }

    public async Task RunAsync(int rounds)
    {
        for (var round = 0; round < rounds; round++)
        {
            await Task.WhenAll(grains.Select(async (g, i) =>
            {
                try
                {
                    await g.Increment();
                    Interlocked.Increment(ref _acknowledged[i]);
                }
                catch (Exception ex)
                {
                    // Not acknowledged: it may or may not have been applied.
                    Interlocked.Increment(ref _uncertain[i]);
                    LastFailure = ex;
                }
            }));
        }
    }
}
