namespace ControlPlane.TestCommon.Processes;

public static class ChildProcessStart
{
    private const int Attempts = 3;

    /// <summary>
    /// Runs <paramref name="start"/> (which picks its ports), again with new ports when the child
    /// reported its port taken: a port is only known free when it was picked, not when the child binds.
    /// </summary>
    public static async Task<T> WithFreshPortsAsync<T>(Func<Task<T>> start)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start();
            }
            catch (ChildProcessException ex) when (ex.PortTaken && attempt < Attempts)
            {
                // pick other ports
            }
        }
    }
}
