using Raft.Core.Messages;

namespace Raft.Core.Storage;

/// <summary>Keeps a node's <see cref="HardState"/> (term, vote, commit index).</summary>
/// <remarks>
/// Contract: <see cref="SaveAsync"/> is durable on completion, and atomic: after a crash <see cref="LoadAsync"/>
/// returns either the previous or the new state, never a mix or garbage. The vote in a term must be on disk before
/// the node grants it, so a crash can never let a node vote twice in one term (§5.2).
/// </remarks>
public interface IHardStateStore
{
    /// <summary>Loads the last saved state, or <see cref="HardState.Empty"/> when none was ever saved.</summary>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The last durable hard state.</returns>
    ValueTask<HardState> LoadAsync(CancellationToken cancellationToken = default);

    /// <summary>Saves <paramref name="state"/> durably.</summary>
    /// <param name="state">The state to keep.</param>
    /// <param name="cancellationToken">Cancels the wait; the save may still have happened.</param>
    /// <returns>A task that completes when the state is durable.</returns>
    ValueTask SaveAsync(HardState state, CancellationToken cancellationToken = default);
}
