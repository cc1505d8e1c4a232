#!/usr/bin/env escript
%% OTP 25 reference for the sandbox's GenServer rules (tests/recorder/sandbox/test_otp_genserver.py
%% runs the same scenarios in the sandbox and compares). `escript gen_server_rules.escript`
%% prints "scenario.key = python literal" lines.
-mode(compile).
-compile([export_all, nowarn_export_all]).
-include("show.hrl").

main(_) ->
    logger:set_primary_config(level, none),  % the crash reports are expected: keep stdout clean
    start_log(),
    lists:foreach(fun run/1, [
        start_is_synchronous,
        init_failure_is_a_start_error,
        late_reply_never_lands,
        calling_self_exits,
        stop_with_reply_runs_terminate_before_replying,
        only_the_parent_exit_stops_a_trapping_server
    ]).

run(Name) ->
    Self = self(),
    put(scenario, Name),
    {Pid, Ref} = spawn_monitor(fun() -> put(scenario, Name), ?MODULE:Name(), Self ! done end),
    receive
        done -> erlang:demonitor(Ref, [flush]);
        {'DOWN', Ref, process, Pid, Why} -> o("crashed", Why)
    end.

o(Key, Term) -> out(atom_to_list(get(scenario)) ++ "." ++ Key, Term).

%% ---------------------------------------------------------------- the scenarios

start_is_synchronous() ->
    {ok, _} = gen_server:start(?MODULE, {srv, a, {tell, self()}}, []),
    o("init_ran_before_start_returned", receive {init_ran, a} -> true after 0 -> false end).

init_failure_is_a_start_error() ->
    o("stop", gen_server:start(?MODULE, {srv, b, {stop, no_way}}, [])),
    o("exit", gen_server:start(?MODULE, {srv, c, {exit, boom}}, [])),
    o("bad_return", gen_server:start(?MODULE, {srv, d, bad_return}, [])),
    process_flag(trap_exit, true),
    o("start_link_stop", gen_server:start_link(?MODULE, {srv, e, {stop, no_way}}, [])),
    o("then_exit", receive {'EXIT', _, R} -> R after 200 -> none end).

late_reply_never_lands() ->
    {ok, Pid} = gen_server:start(?MODULE, {srv, f, ok}, []),
    o("call", try gen_server:call(Pid, slow, 10) catch exit:{Reason, _} -> Reason end),
    timer:sleep(100),  % the server replies at 50 ms
    o("mailbox_after", mailbox()),
    o("server_alive", is_process_alive(Pid)).

calling_self_exits() ->
    o("reason", try gen_server:call(self(), hello) catch exit:{Reason, _} -> Reason end).

stop_with_reply_runs_terminate_before_replying() ->
    {ok, Pid} = gen_server:start(?MODULE, {srv, g, ok}, []),
    o("reply", gen_server:call(Pid, stop)),
    o("mailbox_when_reply_came", mailbox()),
    settle(),
    o("server_alive", is_process_alive(Pid)).

only_the_parent_exit_stops_a_trapping_server() ->
    process_flag(trap_exit, true),
    {ok, Pid} = gen_server:start_link(?MODULE, {srv, h, trap}, []),
    Other = spawn(fun() -> receive go -> exit(Pid, shutdown) end, receive _ -> ok end end),
    Other ! go,
    settle(),
    o("alive_after_other_exit", is_process_alive(Pid)),
    exit(Pid, shutdown),
    settle(),
    o("alive_after_parent_exit", is_process_alive(Pid)),
    o("log", [E || E <- dump(), element(2, E) =:= h]),
    o("parent_got", receive {'EXIT', Pid, R} -> R after 100 -> none end).

%% ---------------------------------------------------------------- the server

init({srv, Id, Beh}) ->
    case Beh of
        {tell, To} -> To ! {init_ran, Id}, {ok, #{id => Id}};
        {stop, Reason} -> {stop, Reason};
        {exit, Reason} -> exit(Reason);
        bad_return -> bad_return;
        trap -> process_flag(trap_exit, true), {ok, #{id => Id}};
        ok -> {ok, #{id => Id}}
    end.

handle_call(slow, From, S) ->
    erlang:send_after(50, self(), {late, From}),
    {noreply, S};
handle_call(stop, {Caller, _}, S) ->
    {stop, normal, stopped, S#{caller => Caller}};
handle_call(get, _From, S) ->
    {reply, maps:get(id, S), S}.

handle_cast(_, S) -> {noreply, S}.

handle_info({late, From}, S) ->
    gen_server:reply(From, late),
    {noreply, S};
handle_info(Msg, S = #{id := Id}) ->
    note({info, Id, Msg}),
    {noreply, S}.

terminate(Reason, S = #{id := Id}) ->
    case S of
        #{caller := Caller} -> Caller ! {terminated, Reason};
        _ -> ok
    end,
    note({terminated, Id, Reason}).
