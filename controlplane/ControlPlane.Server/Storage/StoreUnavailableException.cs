namespace ControlPlane.Server.Storage;

/// <summary>
/// The store cannot be reached or refuses work for now (connection lost, timeout, server loading
/// or read-only). Callers answer UNAVAILABLE (<see cref="StoreUnavailableInterceptor"/>): the
/// request was fine and may be retried, unlike a bug, which stays INTERNAL/UNKNOWN.
/// </summary>
public sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException()
    {
    }

    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    public StoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
