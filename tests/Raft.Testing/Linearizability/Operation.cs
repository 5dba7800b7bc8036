namespace Raft.Testing.Linearizability;

/// <summary>
/// One client operation as observed from outside the system: when it was invoked, what it asked for,
/// what it got back and when.
/// </summary>
/// <remarks>
/// Intervals are closed: an operation returning at <c>t</c> and one invoked at <c>t</c> count as
/// concurrent, so either order is allowed between them. Timestamps only need to be comparable
/// (virtual ticks or a global counter), not wall-clock time.
/// </remarks>
/// <param name="ClientId">The client that issued the operation; used only in failure reports.</param>
/// <param name="Input">What the operation asked for.</param>
/// <param name="Call">Logical time of the invocation.</param>
/// <param name="Output">What the operation returned; for an operation with an unknown outcome, a
/// model-specific "indeterminate" value that the model accepts in any state.</param>
/// <param name="Return">Logical time of the response, or <see cref="long.MaxValue"/> when the outcome is
/// unknown (the client timed out or its node crashed): such an operation may take effect at any point
/// after <paramref name="Call"/>, or never.</param>
public sealed record Operation<TInput, TOutput>(int ClientId, TInput Input, long Call, TOutput Output, long Return)
{
    /// <summary>Gets whether the outcome of the operation is unknown (<see cref="Return"/> is infinite).</summary>
    public bool IsPending => Return == long.MaxValue;
}
