using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Haetae.Cluster;

/// <summary>
/// Starts the platform's child processes so that none outlives this process, even when it crashes or
/// is killed: each child gets the kernel's parent-death signal (SIGKILL) through setpriv.
/// </summary>
/// <remarks>
/// Linux sends the parent-death signal when the <em>thread</em> that forked the child exits, and
/// thread-pool threads come and go; so every child is forked from one dedicated thread that lives as
/// long as the process.
/// </remarks>
internal static class ChildProcesses
{
    private static readonly BlockingCollection<(ProcessStartInfo Info, TaskCompletionSource<Process> Started)> Requests = [];

    static ChildProcesses()
    {
        var spawner = new Thread(() =>
        {
            foreach (var (info, started) in Requests.GetConsumingEnumerable())
            {
                try
                {
                    started.SetResult(Process.Start(info) ?? throw new InvalidOperationException($"{info.FileName} did not start."));
                }
                catch (Exception e)
                {
                    started.SetException(e);
                }
            }
        })
        {
            IsBackground = true,
            Name = "haetae-child-spawner",
        };
        spawner.Start();
    }

    /// <summary>
    /// Starts <paramref name="program"/> with <paramref name="arguments"/>, its output appended to
    /// <paramref name="logPath"/>. The returned process is the program itself (setpriv and the shell exec
    /// into it), so killing it kills the program.
    /// </summary>
    public static Task<Process> StartAsync(
        string program, IEnumerable<string> arguments, string logPath, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("log=$1; shift; exec \"$@\" </dev/null >>\"$log\" 2>&1");
        info.ArgumentList.Add("sh");
        info.ArgumentList.Add(logPath);

        // Its own session and process group: a Ctrl+C in the terminal reaches `haetae up` only, which then
        // stops nodes before servers. setsid does not fork here (the shell is not a group leader), so the
        // pid stays the program's.
        info.ArgumentList.Add("setsid");
        info.ArgumentList.Add("setpriv");
        info.ArgumentList.Add("--pdeathsig");
        info.ArgumentList.Add("KILL");
        info.ArgumentList.Add("--");
        info.ArgumentList.Add(program);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Requests.Add((info, started));
        return started.Task;
    }

    /// <summary>Asks a process to stop (SIGTERM), then kills it if it has not exited within <paramref name="grace"/>.</summary>
    public static async Task StopAsync(Process process, TimeSpan grace)
    {
        if (HasExited(process))
        {
            return;
        }

        _ = kill(process.Id, SigTerm);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync(process);
        }
    }

    /// <summary>SIGKILL, as a fire would: no chance to flush or say goodbye.</summary>
    public static async Task KillAsync(Process process)
    {
        if (HasExited(process))
        {
            return;
        }

        try
        {
            process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }

        await process.WaitForExitAsync();
    }

    public static bool HasExited(Process process)
    {
        try
        {
            return process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    public static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private const int SigTerm = 15;

    public const int SigUsr1 = 10;

    /// <summary>Sends <paramref name="signal"/> to a process that has not exited.</summary>
    public static void Signal(Process process, int signal)
    {
        if (!HasExited(process))
        {
            _ = kill(process.Id, signal);
        }
    }

    [DllImport("libc", SetLastError = true)]
#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code for no gain on one int-only call.
    private static extern int kill(int pid, int signal);
#pragma warning restore SYSLIB1054
}
