using Raft.Core.Messages;
using Raft.Core.Storage;
using Xunit;

namespace Raft.Testing.Conformance;

/// <summary>
/// The <see cref="IHardStateStore"/> contract as tests: every hard-state store implementation inherits this class and passes it.
/// </summary>
/// <remarks>
/// Derived classes create a fresh store per call of <see cref="CreateAsync"/> and dispose what they created. Durable
/// stores override <see cref="ReopenAsync"/> to close the store and open it again from its storage; in-memory stores
/// keep the default, which returns the same instance.
/// </remarks>
public abstract class HardStateStoreConformance
{
    /// <summary>Creates a new store that has never saved anything.</summary>
    /// <returns>The store.</returns>
    protected abstract ValueTask<IHardStateStore> CreateAsync();

    /// <summary>Closes <paramref name="store"/> and opens the same storage again, as after a restart.</summary>
    /// <param name="store">A store returned by <see cref="CreateAsync"/> or by this method; not used afterwards.</param>
    /// <returns>The reopened store.</returns>
    protected virtual ValueTask<IHardStateStore> ReopenAsync(IHardStateStore store) => ValueTask.FromResult(store);

    [Fact]
    public async Task NewStore_LoadsEmpty()
    {
        var store = await CreateAsync();

        Assert.Equal(HardState.Empty, await store.LoadAsync());
    }

    [Fact]
    public async Task Save_ThenLoad_ReturnsTheState()
    {
        var store = await CreateAsync();
        var state = new HardState(Term: 7, VotedFor: "node-2", Commit: 42);

        await store.SaveAsync(state);

        Assert.Equal(state, await store.LoadAsync());
    }

    [Fact]
    public async Task Save_WithoutAVote_KeepsTheVoteNull()
    {
        var store = await CreateAsync();
        await store.SaveAsync(new HardState(3, "node-1", 1));

        await store.SaveAsync(new HardState(4, null, 2));

        var loaded = await store.LoadAsync();
        Assert.Equal(new HardState(4, null, 2), loaded);
        Assert.Null(loaded.VotedFor);
    }

    [Fact]
    public async Task Save_Twice_LastOneWins()
    {
        var store = await CreateAsync();

        await store.SaveAsync(new HardState(1, "a", 0));
        await store.SaveAsync(new HardState(2, "b", 5));

        Assert.Equal(new HardState(2, "b", 5), await store.LoadAsync());
    }

    [Fact]
    public async Task Save_ExtremeValuesAndUnicodeIds_RoundTrip()
    {
        var store = await CreateAsync();
        var state = new HardState(long.MaxValue, "nœud-η-節點-🚀", long.MaxValue - 1);

        await store.SaveAsync(state);

        Assert.Equal(state, await store.LoadAsync());
        Assert.Equal(state, await (await ReopenAsync(store)).LoadAsync());
    }

    [Fact]
    public async Task Reopen_AfterASave_LoadsTheState()
    {
        var store = await CreateAsync();
        var state = new HardState(9, "node-3", 17);
        await store.SaveAsync(state);

        store = await ReopenAsync(store);

        Assert.Equal(state, await store.LoadAsync());
    }

    [Fact]
    public async Task Reopen_AfterManySaves_LoadsTheLast()
    {
        var store = await CreateAsync();
        for (var term = 1; term <= 200; term++)
        {
            await store.SaveAsync(new HardState(term, term % 3 == 0 ? null : $"node-{term % 3}", term * 2));
        }

        store = await ReopenAsync(store);

        Assert.Equal(new HardState(200, "node-2", 400), await store.LoadAsync());
    }

    [Fact]
    public async Task Reopen_WithoutAnySave_LoadsEmpty()
    {
        var store = await CreateAsync();

        store = await ReopenAsync(store);

        Assert.Equal(HardState.Empty, await store.LoadAsync());
    }

    [Fact]
    public async Task Reopen_ThenSave_LoadsTheNewState()
    {
        var store = await CreateAsync();
        await store.SaveAsync(new HardState(1, "a", 1));
        store = await ReopenAsync(store);

        await store.SaveAsync(new HardState(2, null, 3));
        store = await ReopenAsync(store);

        Assert.Equal(new HardState(2, null, 3), await store.LoadAsync());
    }
}
