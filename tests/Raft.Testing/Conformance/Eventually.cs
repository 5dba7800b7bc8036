namespace Raft.Testing.Conformance;

/// <summary>Waits for a condition with a generous bound, so that tests depend on events, never on timing.</summary>
public static class Eventually
{
    /// <summary>The bound used when none is given: long enough for a loaded CI machine, short enough to fail a hung test.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> until it holds, failing the test with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    /// <param name="condition">The condition to wait for.</param>
    /// <param name="what">Describes the condition for the failure message.</param>
    /// <param name="timeout">How long to wait at most; <see cref="DefaultTimeout"/> when null.</param>
    /// <returns>A task that completes once the condition holds.</returns>
    /// <exception cref="TimeoutException">The condition did not hold in time.</exception>
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout ?? DefaultTimeout} waiting for: {what}");
            }

            await Task.Delay(5).ConfigureAwait(false);
        }
    }
}
