namespace Raft.Testing.KeyValue;

/// <summary>The operations of the test key-value store.</summary>
public enum KvCommandType : byte
{
    /// <summary>Reads a key; goes through the log so the read is linearizable.</summary>
    Get = 0,

    /// <summary>Sets a key.</summary>
    Put = 1,

    /// <summary>Removes a key.</summary>
    Delete = 2,

    /// <summary>Sets a key only when it holds the expected value (null: only when it is absent).</summary>
    Cas = 3,
}
