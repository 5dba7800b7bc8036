namespace Raft.Testing.Linearizability;

/// <summary>The verdict of <see cref="LinearizabilityChecker.Check{TState, TInput, TOutput}"/>.</summary>
public enum CheckOutcome
{
    /// <summary>The history is linearizable.</summary>
    Ok,

    /// <summary>The history is not linearizable.</summary>
    Illegal,

    /// <summary>The check timed out before reaching a verdict.</summary>
    Unknown,
}

/// <summary>The verdict of a linearizability check.</summary>
/// <param name="Outcome">The verdict.</param>
/// <param name="Explanation">For <see cref="CheckOutcome.Illegal"/>: which partition failed, the longest
/// linearizable prefix found, the state after it and the operations that could not be placed next. For
/// <see cref="CheckOutcome.Unknown"/>: where the check stopped. <see langword="null"/> for
/// <see cref="CheckOutcome.Ok"/>.</param>
public sealed record CheckResult(CheckOutcome Outcome, string? Explanation)
{
    /// <summary>The result for a linearizable history.</summary>
    public static CheckResult Linearizable { get; } = new(CheckOutcome.Ok, null);

    /// <inheritdoc />
    public override string ToString() => Explanation is null ? Outcome.ToString() : $"{Outcome}: {Explanation}";
}
