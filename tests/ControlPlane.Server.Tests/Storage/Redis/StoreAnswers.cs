using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>Waits for a store whose Redis was paused or restarted to answer again.</summary>
internal static class StoreAnswers
{
    public static Task AgainAsync(RedisRegistryStore store) => Eventually.TrueAsync(async () =>
    {
        try
        {
            await store.PingAsync();
            return true;
        }
        catch (StoreUnavailableException)
        {
            return false;
        }
    }, "the store to answer again");
}
