namespace ControlPlane.TestCommon;

/// <summary>Every await in a test is guarded, so a broken test fails instead of hanging.</summary>
public static class TaskTimeoutExtensions
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static Task DefaultTimeout(this Task task) => task.WaitAsync(Timeout);

    public static Task<T> DefaultTimeout<T>(this Task<T> task) => task.WaitAsync(Timeout);

    public static Task DefaultTimeout(this ValueTask task) => task.AsTask().WaitAsync(Timeout);

    public static Task<T> DefaultTimeout<T>(this ValueTask<T> task) => task.AsTask().WaitAsync(Timeout);
}
